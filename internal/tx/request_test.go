package tx

import (
	"bytes"
	"strings"
	"testing"
)

// TestRequestTail round-trips a request's shared tail and refuses the encodings that would
// let one request take a second form: a short nonce, a short signature, trailing bytes.
func TestRequestTail(t *testing.T) {
	fields := func(nonce []byte) func(*Writer) {
		return func(w *Writer) {
			w.String("ehrchain/test-request/v1")
			w.PutBytes(nonce)
			w.Varint(1234)
		}
	}
	nonce := bytes.Repeat([]byte{7}, 16)
	sig := bytes.Repeat([]byte{9}, 64)
	decode := func(b []byte) (int64, []byte, [16]byte, error) {
		r := NewReader(b)
		r.String("domain", 64)
		var n [16]byte
		at, s, err := r.RequestTail(&n)
		return at, s, n, err
	}
	at, s, n, err := decode(RequestEncode(fields(nonce), sig))
	if err != nil || at != 1234 || !bytes.Equal(s, sig) || !bytes.Equal(n[:], nonce) {
		t.Fatalf("round trip: %v %d %x %x", err, at, s, n)
	}
	if got := RequestSignBytes(fields(nonce)); !bytes.HasPrefix(RequestEncode(fields(nonce), sig), got) {
		t.Fatal("the wire form does not start with the signed bytes")
	}
	for name, b := range map[string][]byte{
		"short nonce":     RequestEncode(fields(nonce[:15]), sig),
		"short signature": RequestEncode(fields(nonce), sig[:63]),
		"trailing byte":   append(RequestEncode(fields(nonce), sig), 0),
		"no signature":    RequestSignBytes(fields(nonce)),
	} {
		if _, _, _, err := decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "short nonce" && !strings.Contains(err.Error(), "nonce") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
