package emergency

import (
	"bytes"
	"testing"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// FuzzDecodeBodies: every body decoder either refuses its input or returns a body that
// encodes to a form it decodes to the same encoding again (nodes hash and store what they
// decode, so a decoder must never panic or be ambiguous about what it accepted).
func FuzzDecodeBodies(f *testing.F) {
	for _, b := range []tx.Body{
		&CustodianBody{Custodian: "ab", Institution: "St Mary"},
		&EscrowBody{Category: "general", Version: 1, Threshold: 2, Shares: []EscrowShare{{Custodian: "c", Sealed: []byte{1, 2}}}},
		&OptOutBody{Categories: []string{"hiv"}, Undo: true},
		&DeclareBody{Patient: "p", Reason: "unconscious", Categories: []string{"general"}, Window: 60},
		&ReleaseBody{Declaration: "e-1", Category: "general", Version: 1, Sealed: []byte{3}},
		&JustifyBody{Declaration: "e-1", Text: "why"},
		&ReviewBody{Declaration: "e-1", Verdict: Appropriate},
	} {
		w := tx.NewWriter(64)
		b.Encode(w)
		f.Add(uint8(b.Type()-TypeCustodian), w.Bytes())
	}
	f.Add(uint8(0), []byte{0x05, '{', '"', 'a', '"', '}'})
	f.Fuzz(func(t *testing.T, kind uint8, raw []byte) {
		decoders := []func([]byte) (tx.Body, error){
			func(b []byte) (tx.Body, error) { return DecodeCustodian(b) },
			func(b []byte) (tx.Body, error) { return DecodeEscrow(b) },
			func(b []byte) (tx.Body, error) { return DecodeOptOut(b) },
			func(b []byte) (tx.Body, error) { return DecodeDeclare(b) },
			func(b []byte) (tx.Body, error) { return DecodeRelease(b) },
			func(b []byte) (tx.Body, error) { return DecodeJustify(b) },
			func(b []byte) (tx.Body, error) { return DecodeReview(b) },
			func(b []byte) (tx.Body, error) { return DecodeUrgentPut(b) },
		}
		dec := decoders[int(kind)%len(decoders)]
		body, err := dec(raw)
		if err != nil {
			return
		}
		w := tx.NewWriter(len(raw))
		body.Encode(w)
		again, err := dec(w.Bytes())
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		w2 := tx.NewWriter(len(raw))
		again.Encode(w2)
		if !bytes.Equal(w.Bytes(), w2.Bytes()) {
			t.Fatalf("encoding is not stable:\n%q\n%q", w.Bytes(), w2.Bytes())
		}
	})
}
