package app

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestInlineWriteIsAWrite: a sealed record sent as TypePutInline (without the digest and
// size) is stored as the same record TypePut stores, with the digest of its ciphertext, and
// opens; one with a wrong wrap is refused with the same code as through TypePut.
func TestInlineWriteIsAWrite(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, "general")
	seal := func(id string) *records.PutBody {
		b, _, err := client.SealFor(c.provider, h.identity(c.provider.ID).KeyVersion, *ck, client.NewRecord{ID: id, Version: 1,
			Patient: c.patient.ID, Category: "general", ResourceType: "Observation", ContentType: "text/plain", Plaintext: []byte("inline " + id)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := seal("r-inline")
	if b.Wire().Type() != records.TypePutInline {
		t.Fatalf("the client sends an inline write as type %d", b.Wire().Type())
	}
	h.mustOK(h.sign(c.provider, b.Wire()))
	m := records.Version(h.st.Committed(), "r-inline", 1)
	if m == nil || m.Digest != sha256.Sum256(b.Ciphertext) || m.Size != uint64(len(b.Ciphertext)) || m.Blob {
		t.Fatalf("the inline write stored %+v", m)
	}
	pt, err := client.Decrypt(c.provider, m, records.Ciphertext(h.st.Committed(), m), nil)
	if err != nil || !bytes.Equal(pt, []byte("inline r-inline")) {
		t.Fatalf("the author opens the inline record: %q, %v", pt, err)
	}
	bad := seal("r-bad")
	bad.Meta.PatientWrap = bad.Meta.PatientWrap[:60]
	h.wantCode(c.provider, bad.Wire(), string(records.Space), records.CodeInvalid)
	h.wantCode(c.provider, b.Wire(), string(records.Space), records.CodeVersion) // replayed as a new record: refused
}
