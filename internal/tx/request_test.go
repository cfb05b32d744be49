package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"strings"
	"testing"
	"time"
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

// TestAuthenticateRequest: each way a request can fail to be its requester's, in the order
// the checks run, with the transaction code a client already knows.
func TestAuthenticateRequest(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	fields := func(w *Writer) { w.String("ehrchain/test-request/v1"); w.String("chain-a"); w.String("alice") }
	good := SignedRequest{ChainID: "chain-a", Requester: "alice", SignBytes: RequestSignBytes(fields), Signature: RequestSign(key, fields)}
	alice := &RequestSigner{ID: "alice", Active: true, SignKey: pub}
	with := func(f func(*SignedRequest)) SignedRequest { q := good; f(&q); return q }
	flipped := bytes.Clone(good.Signature)
	flipped[10] ^= 1
	for _, c := range []struct {
		name string
		q    SignedRequest
		who  *RequestSigner
		code uint32 // 0: authentic
	}{
		{"signed by its requester", good, alice, 0},
		{"signed for another chain", with(func(q *SignedRequest) { q.ChainID = "chain-b" }), alice, CodeWrongChain},
		{"another chain beats an unknown requester", with(func(q *SignedRequest) { q.ChainID = "chain-b" }), nil, CodeWrongChain},
		{"requester not registered", good, nil, CodeUnknownSigner},
		{"one bit of the signature flipped", with(func(q *SignedRequest) { q.Signature = flipped }), alice, CodeBadSignature},
		{"signed fields altered", with(func(q *SignedRequest) { q.SignBytes = append(bytes.Clone(q.SignBytes), 0) }), alice, CodeBadSignature},
		{"no signature", with(func(q *SignedRequest) { q.Signature = nil }), alice, CodeBadSignature},
		{"requester's key rotated since", good, &RequestSigner{ID: "alice", Active: true, SignKey: otherPub}, CodeBadSignature},
		{"someone else's identity looked up", good, &RequestSigner{ID: "bob", Active: true, SignKey: pub}, CodeBadSignature},
		{"requester deactivated", good, &RequestSigner{ID: "alice", SignKey: pub}, CodeInactive},
		{"a forged signature beats deactivation", with(func(q *SignedRequest) { q.Signature = flipped }), &RequestSigner{ID: "alice", SignKey: pub}, CodeBadSignature},
	} {
		e := AuthenticateRequest("chain-a", "query", c.q, c.who)
		switch {
		case c.code == 0 && e != nil:
			t.Errorf("%s: refused: %v", c.name, e)
		case c.code != 0 && (e == nil || e.Code != c.code || e.Codespace != string(Space)):
			t.Errorf("%s: got %v, want %s/%d", c.name, e, Space, c.code)
		}
	}
}

// TestRequestInWindow: a request is valid from now until its expiry, and only if that
// expiry is at most maxAge ahead (so a node need remember it no longer than that).
func TestRequestInWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		name     string
		notAfter int64
		want     bool
	}{
		{"expires now", now.Unix(), true},
		{"expired a second ago", now.Unix() - 1, false},
		{"expires at the edge of the window", now.Add(10 * time.Minute).Unix(), true},
		{"expires a second past the window", now.Add(10*time.Minute).Unix() + 1, false},
		{"expires in the window", now.Add(time.Minute).Unix(), true},
	} {
		if got := RequestInWindow(c.notAfter, now, 10*time.Minute); got != c.want {
			t.Errorf("%s: in window = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestRequestHeadRefusesAnotherType: one request type's bytes never decode as another's.
func TestRequestHeadRefusesAnotherType(t *testing.T) {
	w := NewWriter(64)
	w.String("ehrchain/read/v1")
	r := NewReader(w.Bytes())
	if err := r.RequestHead("ehrchain/audit-query/v1", "an audit query"); err == nil || !strings.Contains(err.Error(), "not an audit query") {
		t.Fatalf("a read request's head was taken for an audit query's: %v", err)
	}
	r = NewReader(w.Bytes())
	if err := r.RequestHead("ehrchain/read/v1", "a read request"); err != nil {
		t.Fatalf("own domain refused: %v", err)
	}
}

// TestRequestHashAndSign: the hash is of the wire form, so a different signature is a
// different request; the signature verifies over the signed bytes.
func TestRequestHashAndSign(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	fields := func(w *Writer) { w.String("ehrchain/test-request/v1") }
	sig := RequestSign(key, fields)
	if !ed25519.Verify(pub, RequestSignBytes(fields), sig) {
		t.Fatal("RequestSign's signature does not verify over RequestSignBytes")
	}
	if RequestHash(fields, sig) != sha256.Sum256(RequestEncode(fields, sig)) {
		t.Fatal("the hash is not of the wire form")
	}
	if RequestHash(fields, sig) == RequestHash(fields, bytes.Repeat([]byte{1}, 64)) {
		t.Fatal("two signatures, one hash")
	}
}
