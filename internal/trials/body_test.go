package trials

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"testing"

	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestObserveBodyRoundTrip: an observation decodes to what was encoded, and a truncated or
// extended body is refused.
func TestObserveBodyRoundTrip(t *testing.T) {
	ct := []byte("ciphertext")
	b := &ObserveBody{Trial: "GLU-3", Put: records.PutBody{Meta: records.Meta{RecordID: "o-1", Version: 1, Patient: "pat",
		Category: "general", ResourceType: "Observation", ContentType: "application/fhir+json", Digest: sha256.Sum256(ct),
		Size: uint64(len(ct)), CategoryVersion: 1, PatientWrap: bytes.Repeat([]byte{1}, 1168), AuthorKeyVersion: 1,
		AuthorWrap: bytes.Repeat([]byte{2}, 1168)}, Ciphertext: ct}}
	w := tx.NewWriter(4096)
	b.Encode(w)
	raw := w.Bytes()
	got, err := DecodeObserve(raw)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	for name, bad := range map[string][]byte{"truncated": raw[:len(raw)-3], "trailing byte": append(bytes.Clone(raw), 0), "empty": nil} {
		if _, err := DecodeObserve(bad); err == nil {
			t.Errorf("%s body decoded", name)
		}
	}
}
