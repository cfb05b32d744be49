package app

import (
	"bytes"
	"testing"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestAuthorWrapSizes: a write sealed by the client carries the author's 60-byte self wrap
// and is accepted; the author opens it with its own key; an older 1,168-byte HPKE author wrap
// is still accepted (blocks written before the self wrap replay); any other size, or a
// patient wrap that is not an HPKE wrap, is refused with records/CodeInvalid.
func TestAuthorWrapSizes(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h) // r-gen and r-mh carry HPKE author wraps: accepted
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, "general")
	seal := func(id string) *records.PutBody {
		b, _, err := client.SealFor(c.provider, h.identity(c.provider.ID).KeyVersion, *ck, client.NewRecord{ID: id, Version: 1,
			Patient: c.patient.ID, Category: "general", ResourceType: "Observation", ContentType: "text/plain", Plaintext: []byte("self-wrapped " + id)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := seal("r-self")
	if len(ok.Meta.AuthorWrap) != envelope.SelfWrappedKeySize {
		t.Fatalf("the client's author wrap is %d bytes, want %d", len(ok.Meta.AuthorWrap), envelope.SelfWrappedKeySize)
	}
	h.mustOK(h.sign(c.provider, ok))
	m := records.Version(h.st.Committed(), "r-self", 1)
	if m == nil {
		t.Fatal("the self-wrapped record is not stored")
	}
	pt, err := client.Decrypt(c.provider, m, ok.Ciphertext, nil)
	if err != nil || !bytes.Equal(pt, []byte("self-wrapped r-self")) {
		t.Fatalf("the author opens its own record: %q, %v", pt, err)
	}
	for _, bad := range []struct {
		name string
		edit func(*records.PutBody)
	}{
		{"an author wrap of 61 bytes", func(b *records.PutBody) { b.Meta.AuthorWrap = append(b.Meta.AuthorWrap, 0) }},
		{"an author wrap of 59 bytes", func(b *records.PutBody) { b.Meta.AuthorWrap = b.Meta.AuthorWrap[:59] }},
		{"no author wrap", func(b *records.PutBody) { b.Meta.AuthorWrap = nil }},
		{"a self-sized patient wrap", func(b *records.PutBody) { b.Meta.PatientWrap = b.Meta.PatientWrap[:60] }},
	} {
		b := seal("r-bad")
		bad.edit(b)
		t.Run(bad.name, func(t *testing.T) {
			h.t = t
			h.wantCode(c.provider, b, string(records.Space), records.CodeInvalid)
		})
	}
}
