package claims

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

func signedQuery(t testing.TB) (*Query, *identity.Identity) {
	q, who, _ := signedQueryKey(t)
	return q, who
}

func signedQueryKey(t testing.TB) (*Query, *identity.Identity, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	who := &identity.Identity{ID: "1111111111111111111111111111111111111111", Role: identity.Patient, SignKey: pub, Active: true}
	q := &Query{ChainID: "c", Requester: who.ID, Kind: QueryList, NotAfter: time.Now().Add(time.Minute).Unix()}
	q.Nonce[3] = 7
	q.Sign(priv)
	return q, who, priv
}

func TestQueryAuthenticate(t *testing.T) {
	q, who, priv := signedQueryKey(t)
	now := time.Now()
	resign := func(mut func(*Query)) func() *Query {
		return func() *Query { c := *q; mut(&c); c.Sign(priv); return &c }
	}
	if err := q.Authenticate("c", who, now); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeQuery(q.Encode())
	if err != nil || !bytes.Equal(back.Encode(), q.Encode()) {
		t.Fatalf("round trip: %v", err)
	}
	inactive := *who
	inactive.Active = false
	for name, c := range map[string]struct {
		q     func() *Query
		who   *identity.Identity
		chain string
		code  uint32
		space tx.Codespace
	}{
		"other chain":  {func() *Query { return q }, who, "d", tx.CodeWrongChain, tx.Space},
		"unregistered": {func() *Query { return q }, nil, "c", tx.CodeUnknownSigner, tx.Space},
		"inactive":     {func() *Query { return q }, &inactive, "c", tx.CodeInactive, tx.Space},
		"altered kind": {func() *Query { c := *q; c.Kind = QueryCoverage; return &c }, who, "c", tx.CodeBadSignature, tx.Space},
		"altered id":   {func() *Query { c := *q; c.ID = "cl-x"; return &c }, who, "c", tx.CodeBadSignature, tx.Space},
		"expired":      {resign(func(c *Query) { c.NotAfter = now.Add(-time.Minute).Unix() }), who, "c", CodeInvalid, Space},
		"too long":     {resign(func(c *Query) { c.NotAfter = now.Add(time.Hour).Unix() }), who, "c", CodeInvalid, Space},
	} {
		err := c.q().Authenticate(c.chain, c.who, now)
		if err == nil || err.Code != c.code || err.Codespace != string(c.space) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeQuery(f *testing.F) {
	q, _ := signedQuery(f)
	f.Add(q.Encode())
	f.Add([]byte{})
	f.Add(append(q.Encode(), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeQuery(b)
		if err != nil {
			return
		}
		if !bytes.Equal(q.Encode(), b) {
			t.Fatalf("two encodings of one query: %x and %x", b, q.Encode())
		}
	})
}

func FuzzDecodeSubmit(f *testing.F) {
	b := &SubmitBody{Patient: "p", Insurer: "i", ServiceDate: "2024-01-01", Lines: []LineInput{l(1, sct, "1", 100)}}
	w := tx.NewWriter(256)
	b.Encode(w)
	f.Add(w.Bytes())
	f.Add([]byte{0x05, '{', '}', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := DecodeSubmit(raw)
		if err != nil {
			return
		}
		// Whatever decodes is checked field by field before it can touch state.
		_ = s.validate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	})
}
