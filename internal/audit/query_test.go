package audit

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// emptyLog is a log without events (audittest builds fuller ones, for the external tests).
type emptyLog struct{}

func (emptyLog) LogSize() uint64               { return 0 }
func (emptyLog) Leaf(i uint64) ([]byte, error) { return nil, fmt.Errorf("no event %d", i) }

func TestFilterValidate(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 65))
	for _, c := range []struct {
		name string
		f    Filter
		ok   bool
	}{
		{"empty", Filter{}, true},
		{"everything", Filter{Patient: "p", Actor: "a", Organization: "o", Action: RecordRead, Outcome: Denied,
			From: t0, To: t0.Add(time.Hour), Cursor: "12", Limit: MaxLimit}, true},
		{"family", Filter{Action: "record.*"}, true},
		{"from equals to", Filter{From: t0, To: t0}, true},
		{"unknown action", Filter{Action: "record.reads"}, false},
		{"unknown family", Filter{Action: "clinical.*"}, false},
		{"bare star", Filter{Action: "*"}, false},
		{"outcome", Filter{Outcome: "maybe"}, false},
		{"from after to", Filter{From: t0.Add(time.Second), To: t0}, false},
		{"epoch", Filter{From: time.Unix(0, 0)}, false},
		{"before epoch", Filter{To: time.Unix(-5, 0)}, false},
		{"far future", Filter{To: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
		{"limit", Filter{Limit: MaxLimit + 1}, false},
		{"negative limit", Filter{Limit: -1}, false},
		{"cursor not a number", Filter{Cursor: "abc"}, false},
		{"cursor not canonical", Filter{Cursor: "012"}, false},
		{"cursor signed", Filter{Cursor: "+1"}, false},
		{"long patient", Filter{Patient: long}, false},
		{"long actor", Filter{Actor: long}, false},
		{"invalid utf-8", Filter{Organization: "\xff"}, false},
	} {
		err := c.f.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && (err.Codespace != string(Space) || err.Code != CodeInvalid) {
			t.Errorf("%s: code %s/%d", c.name, err.Codespace, err.Code)
		}
		if !c.ok {
			if _, qerr := Query(emptyLog{}, nil, c.f); qerr == nil {
				t.Errorf("%s: Query accepted an invalid filter", c.name)
			}
		}
	}
}

func signedQuery(key ed25519.PrivateKey, id string, f Filter, notAfter int64) *QueryRequest {
	q := &QueryRequest{ChainID: "test-chain", Requester: id, Filter: f, NotAfter: notAfter}
	q.Nonce[0] = 7
	q.Sign(key)
	return q
}

func TestQueryRequestEncoding(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	f := Filter{Patient: "p1", Actor: "a1", Organization: "St Mary", Action: "record.*", Outcome: Denied,
		From: t0.Add(123 * time.Nanosecond), To: t0.Add(time.Hour), Cursor: "42", Limit: 17}
	q := signedQuery(key, "a1", f, t0.Unix())
	raw := q.Encode()
	got, err := DecodeQueryRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), raw) || !got.Filter.From.Equal(f.From) || !got.Filter.To.Equal(f.To) || got.Filter.Limit != 17 {
		t.Fatalf("round trip: %+v", got)
	}
	who := &Requester{ID: "a1", Role: roleAuditor, Active: true, SignKey: pub}
	if err := got.Authenticate("test-chain", who, t0); err != nil {
		t.Fatal(err)
	}
	// Every single-bit change is refused: it no longer decodes, or its signature no longer
	// verifies, or it names another requester or chain.
	for i := range len(raw) * 8 {
		b := bytes.Clone(raw)
		b[i/8] ^= 1 << (i % 8)
		q2, err := DecodeQueryRequest(b)
		if err != nil {
			continue
		}
		if q2.Authenticate("test-chain", who, t0) == nil {
			t.Fatalf("flipping bit %d still authenticates: %+v", i, q2.Filter)
		}
	}
	for _, bad := range [][]byte{nil, raw[:len(raw)-1], append(bytes.Clone(raw), 0)} {
		if _, err := DecodeQueryRequest(bad); err == nil {
			t.Fatalf("decoded %d bytes of a %d-byte request", len(bad), len(raw))
		}
	}
	// A read request is not an audit query, although both are signed by the same key.
	w := tx.NewWriter(64)
	w.String("ehrchain/read/v1")
	if _, err := DecodeQueryRequest(w.Bytes()); err == nil {
		t.Fatal("decoded a read request as an audit query")
	}
}

func FuzzDecodeQueryRequest(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	f.Add(signedQuery(key, "a", Filter{}, 1).Encode())
	f.Add(signedQuery(key, "a", Filter{Patient: "p", Action: "record.*", From: t0, To: t0.Add(time.Second), Cursor: "9", Limit: 3}, 1).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeQueryRequest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(q.Encode(), b) {
			t.Fatalf("two encodings of one query: %x", b)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	now := t0
	ok := now.Add(5 * time.Minute).Unix()
	who := &Requester{ID: "aud", Role: roleAuditor, Active: true, SignKey: pub}
	inactive := *who
	inactive.Active = false
	for _, c := range []struct {
		name  string
		q     *QueryRequest
		who   *Requester
		chain string
		space tx.Codespace
		code  uint32
	}{
		{"valid", signedQuery(key, "aud", Filter{}, ok), who, "test-chain", "", 0},
		{"wrong chain", signedQuery(key, "aud", Filter{}, ok), who, "other-chain", tx.Space, tx.CodeWrongChain},
		{"unknown requester", signedQuery(key, "aud", Filter{}, ok), nil, "test-chain", tx.Space, tx.CodeUnknownSigner},
		{"forged signature", signedQuery(other, "aud", Filter{}, ok), who, "test-chain", tx.Space, tx.CodeBadSignature},
		{"requester mismatch", signedQuery(key, "someone-else", Filter{}, ok), who, "test-chain", tx.Space, tx.CodeBadSignature},
		{"deactivated", signedQuery(key, "aud", Filter{}, ok), &inactive, "test-chain", tx.Space, tx.CodeInactive},
		{"expired", signedQuery(key, "aud", Filter{}, now.Unix()-1), who, "test-chain", Space, CodeExpired},
		{"too far ahead", signedQuery(key, "aud", Filter{}, now.Add(MaxQueryAge+time.Second).Unix()), who, "test-chain", Space, CodeExpired},
		{"at the window's end", signedQuery(key, "aud", Filter{}, now.Add(MaxQueryAge).Unix()), who, "test-chain", "", 0},
	} {
		err := c.q.Authenticate(c.chain, c.who, now)
		switch {
		case c.code == 0 && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.code != 0 && (err == nil || err.Codespace != string(c.space) || err.Code != c.code):
			t.Errorf("%s: got %v, want %s/%d", c.name, err, c.space, c.code)
		}
	}
}

func TestReplayGuard(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	g := NewReplayGuard(2)
	now := t0
	q1 := signedQuery(key, "a", Filter{}, now.Add(time.Minute).Unix())
	q2 := signedQuery(key, "a", Filter{Limit: 1}, now.Add(time.Minute).Unix())
	q3 := signedQuery(key, "a", Filter{Limit: 2}, now.Add(time.Minute).Unix())
	if err := g.Admit(q1, now); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(q1, now); err == nil || err.Code != CodeReplayed {
		t.Fatalf("replay: %v", err)
	}
	if err := g.Admit(q2, now); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(q3, now); err == nil || err.Code != CodeBusy {
		t.Fatalf("full guard: %v", err)
	}
	// Once the remembered queries expired they are forgotten, and new ones fit.
	later := now.Add(2 * time.Minute)
	if err := g.Admit(q3, later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestEventAbout(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Patient: "p", Subject: "s"}, "p"},
		{Event{Subject: "s"}, "s"},
		{Event{}, ""},
	} {
		if got := c.e.About(); got != c.want {
			t.Errorf("%+v: %q", c.e, got)
		}
	}
}
