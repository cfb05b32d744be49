package audit

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// memLog is an in-memory committed log: the first size leaves of a shared slice.
type memLog struct {
	leaves  [][]byte
	decoded []*Event // the leaves decoded once, for brute
	size    uint64
	reads   *atomic.Int64
}

func (m memLog) LogSize() uint64 { return m.size }

func (m memLog) Leaf(i uint64) ([]byte, error) {
	if i >= m.size {
		return nil, fmt.Errorf("leaf %d of %d", i, m.size)
	}
	if m.reads != nil {
		m.reads.Add(1)
	}
	return m.leaves[i], nil
}

func (m memLog) prefix(n uint64) memLog { m.size = n; return m }

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// genEvents makes n events in blocks of 1-4 events sharing a block time that increases by
// 1-3 seconds, drawing each field from small pools so filters hit and miss.
func genEvents(rng *rand.Rand, n int) []*Event {
	pick := func(pool ...string) string { return pool[rng.IntN(len(pool))] }
	var out []*Event
	at, height := t0, int64(1)
	for len(out) < n {
		for k := 1 + rng.IntN(4); k > 0 && len(out) < n; k-- {
			e := &Event{Height: height, Time: at, Action: pick(KnownActions...), Outcome: pick(Success, Success, Denied),
				Actor: pick("a1", "a2", "a3", "p1"), ActorRole: "provider", Organization: pick("", "org1", "org2")}
			if family(e.Action) == "identity" {
				e.Subject = pick("p1", "p2", "a1")
			} else {
				e.Patient = pick("p1", "p2", "p3")
			}
			if rng.IntN(50) == 0 {
				e.Actor = "rare"
			}
			out = append(out, e)
		}
		at = at.Add(time.Duration(1+rng.IntN(3)) * time.Second)
		height++
	}
	return out
}

func logOf(evs []*Event) memLog {
	m := memLog{reads: &atomic.Int64{}}
	for _, e := range evs {
		c := *e
		m.leaves = append(m.leaves, c.Encode())
		d, err := Decode(m.leaves[len(m.leaves)-1])
		if err != nil {
			panic(err)
		}
		m.decoded = append(m.decoded, d)
	}
	m.size = uint64(len(m.leaves))
	return m
}

func TestFirstAtOrAfter(t *testing.T) {
	if i, err := firstAtOrAfter(memLog{}, 0, t0); err != nil || i != 0 {
		t.Fatalf("empty log: %d, %v", i, err)
	}
	evs := genEvents(rand.New(rand.NewPCG(1, 2)), 300)
	v := logOf(evs)
	linear := func(at time.Time) uint64 {
		for i, e := range evs {
			if !e.Time.Before(at) {
				return uint64(i)
			}
		}
		return uint64(len(evs))
	}
	probes := []time.Time{t0.Add(-time.Hour), evs[len(evs)-1].Time.Add(time.Nanosecond), evs[len(evs)-1].Time.Add(time.Hour)}
	for _, e := range evs {
		probes = append(probes, e.Time, e.Time.Add(-time.Nanosecond), e.Time.Add(time.Nanosecond))
	}
	for _, at := range probes {
		v.reads.Store(0)
		got, err := firstAtOrAfter(v, v.size, at)
		if err != nil {
			t.Fatal(err)
		}
		if want := linear(at); got != want {
			t.Fatalf("first event at or after %s: %d, want %d", at, got, want)
		}
		if r := v.reads.Load(); r > 10 { // ceil(log2(301)) leaf reads
			t.Fatalf("binary search read %d leaves of %d", r, v.size)
		}
	}
	// Every event of a block is inside a range starting at the block's time.
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.Equal(evs[i-1].Time) {
			if got, _ := firstAtOrAfter(v, v.size, evs[i].Time); got > uint64(i-1) {
				t.Fatalf("range from the time of event %d starts at %d", i-1, got)
			}
			break
		}
	}
}

func TestQueryReturnsEventsWithIndex(t *testing.T) {
	evs := genEvents(rand.New(rand.NewPCG(5, 6)), 50)
	v := logOf(evs)
	p, err := Query(v, nil, Filter{Cursor: "10", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 5 || p.Next != "15" {
		t.Fatalf("page from cursor 10: %d events, next %q", len(p.Events), p.Next)
	}
	for k, e := range p.Events {
		want := *evs[10+k]
		want.Index, want.Kind = uint64(10+k), "event"
		if e.Index != uint64(10+k) || !bytes.Equal(e.Encode(), want.Encode()) {
			t.Fatalf("event %d: %+v", 10+k, e)
		}
	}
	if p, _ := Query(v, nil, Filter{Cursor: "50"}); len(p.Events) != 0 || p.Next != "" {
		t.Fatalf("cursor at the end: %+v", p)
	}
	if p, _ := Query(v, nil, Filter{Cursor: "9999"}); len(p.Events) != 0 || p.Next != "" {
		t.Fatalf("cursor past the end: %+v", p)
	}
}

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
			if _, qerr := Query(memLog{}, nil, c.f); qerr == nil {
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
