package records

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// fixedPut is a write body with every field set, the same on every run.
func fixedPut() *PutBody {
	ct := bytes.Repeat([]byte("ciphertext "), 20)
	return &PutBody{Meta: Meta{RecordID: "r-0001", Version: 2, Patient: strings.Repeat("ab", 20), Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)),
		CategoryVersion: 3, PatientWrap: bytes.Repeat([]byte{1}, wrapSize), AuthorKeyVersion: 4, AuthorWrap: bytes.Repeat([]byte{2}, selfWrapSize)},
		Ciphertext: ct}
}

func encodeBody(b tx.Body) []byte {
	w := tx.NewWriter(0)
	b.Encode(w)
	return w.Bytes()
}

// TestPutV1StillDecodes: a TypePut body as encoded before TypePutInline existed (a fixture
// of its bytes) decodes to the same write, so blocks already written replay as before.
func TestPutV1StillDecodes(t *testing.T) {
	raw, err := os.ReadFile("testdata/put_v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePut(b)
	if err != nil {
		t.Fatalf("the TypePut fixture no longer decodes: %v", err)
	}
	if want := fixedPut(); !samePut(got, want) {
		t.Fatalf("the TypePut fixture decodes to %+v, want %+v", got.Meta, want.Meta)
	}
	if !bytes.Equal(encodeBody(got), b) {
		t.Fatal("TypePut's encoding changed: re-encoding the fixture gives other bytes")
	}
}

// TestInlinePutIsTheSameWrite: the inline body decodes to the write TypePut carries, with
// the digest and size computed from the ciphertext, 36 bytes shorter; a body that is cut
// short or carries trailing bytes is refused.
func TestInlinePutIsTheSameWrite(t *testing.T) {
	want := fixedPut()
	want.Meta.Version = 1
	raw := encodeBody(want.Wire())
	if want.Wire().Type() != TypePutInline {
		t.Fatalf("an inline write is sent as type %d, want %d", want.Wire().Type(), TypePutInline)
	}
	if d := len(encodeBody(want)) - len(raw); d != 36 {
		t.Fatalf("the inline body is %d bytes shorter than TypePut's, want 36", d)
	}
	got, err := DecodePutInline(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Digest != ([32]byte{}) || !got.derived {
		t.Fatal("the inline body's digest is ExecPut's to compute")
	}
	got.Meta.Digest = sha256.Sum256(got.Ciphertext)
	if !samePut(got, want) {
		t.Fatalf("inline body decodes to %+v, want %+v", got.Meta, want.Meta)
	}
	for _, bad := range [][]byte{raw[:len(raw)-1], append(bytes.Clone(raw), 0), raw[:10], nil} {
		if _, err := DecodePutInline(bad); err == nil {
			t.Errorf("a %d-byte inline body (of %d) decoded", len(bad), len(raw))
		}
	}
	blob := fixedPut()
	blob.Meta.Blob, blob.Ciphertext = true, nil
	if blob.Wire().Type() != TypePut {
		t.Fatal("a blob record must be sent as TypePut: its digest and size come from no ciphertext")
	}
}

// TestInlinePutDigestIsTheCiphertexts: the node derives an inline write's digest, so a
// changed ciphertext is a write of another digest, never one that keeps the signed digest.
func TestInlinePutDigestIsTheCiphertexts(t *testing.T) {
	c := newChart(t)
	b := c.put("r1", 1, "first")
	raw := encodeBody(b.Wire())
	raw[len(raw)-1] ^= 1
	got, err := DecodePutInline(raw)
	if err != nil {
		t.Fatal(err)
	}
	c.ok(c.dr, write(got))
	m := Version(c.Store, "r1", 1)
	if m == nil || m.Digest == b.Meta.Digest || m.Digest != sha256.Sum256(got.Ciphertext) || got.Meta.Digest != m.Digest {
		t.Fatal("the stored digest is not the SHA-256 of the ciphertext the transaction carried")
	}
	if !bytes.Equal(Ciphertext(c.Store, m), got.Ciphertext) {
		t.Fatal("the inline write did not store the ciphertext it carried")
	}
}

func samePut(a, b *PutBody) bool {
	return bytes.Equal(a.Meta.Encode(), b.Meta.Encode()) && bytes.Equal(a.Ciphertext, b.Ciphertext)
}
