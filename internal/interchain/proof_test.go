package interchain_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/state"
)

// counterparty is chain B's real state store, committed block by block, with the views of
// each height kept for proving.
type counterparty struct {
	st    *state.Store
	views map[int64]*state.View
	hash  map[int64][]byte // app hash after block h
}

func newCounterparty(t testing.TB) *counterparty {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &counterparty{st: st, views: map[int64]*state.View{}, hash: map[int64][]byte{}}
}

func (c *counterparty) commit(t testing.TB, h int64, kv map[string]string, events ...*audit.Event) {
	for _, k := range slices.Sorted(maps.Keys(kv)) { // one insertion order, one tree shape
		c.st.Set([]byte(k), []byte(kv[k]))
	}
	for _, e := range events {
		c.st.Append(e.Encode())
	}
	cm, err := c.st.Commit(h)
	if err != nil {
		t.Fatal(err)
	}
	c.views[h], c.hash[h] = c.st.Committed(), cm.AppHash
}

func (c *counterparty) prove(t *testing.T, h int64, key string) *interchain.StateProof {
	t.Helper()
	p, err := c.views[h].Prove([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return (*interchain.StateProof)(p)
}

// provenChain is B with two committed blocks, and our chain with a client that verified B's
// headers 2 and 3, which carry the app hashes of B's states 1 and 2.
func provenChain(t *testing.T) (*ours, *counterparty, *audit.Event) {
	b := newCounterparty(t)
	b.commit(t, 1, map[string]string{"supply/partner/acme": `{"id":"acme"}`, "id/alice": "provider"})
	ev := &audit.Event{Height: 2, Action: audit.PartnerBind, Outcome: audit.Success, Actor: "registrar", Subject: "acme"}
	b.commit(t, 2, map[string]string{"supply/event/e1": "dispensed"}, ev)
	o := withClient(t)
	for h := int64(2); h <= 3; h++ {
		hd := header(h)
		hd.AppHash = b.hash[h-1] // header h carries the state after block h-1
		wantCode(t, "header", o.update(h-1, sign(hd)), 0)
	}
	return o, b, ev
}

func TestVerifyState(t *testing.T) {
	o, b, _ := provenChain(t)
	r := o.st.Committed()
	ok := []struct {
		h          int64
		key, value string
		absent     bool
	}{
		{2, "supply/event/e1", "dispensed", false},
		{2, "supply/partner/acme", `{"id":"acme"}`, false},
		{1, "id/alice", "provider", false},
		{1, "supply/event/e1", "", true}, // not yet written at height 1
		{2, "id/mallory", "", true},
	}
	for _, c := range ok {
		var v []byte
		if !c.absent {
			v = []byte(c.value)
		}
		wantCode(t, c.key, interchain.VerifyState(r, clientID, b.prove(t, c.h, c.key), []byte(c.key), v), 0)
	}

	good := func() *interchain.StateProof { return b.prove(t, 2, "supply/event/e1") }
	key, val := []byte("supply/event/e1"), []byte("dispensed")
	// Every byte of the proof and of both roots, flipped in turn, must make it fail.
	for _, part := range []struct {
		name string
		get  func(*interchain.StateProof) []byte
	}{
		{"ICS-23 proof", func(p *interchain.StateProof) []byte { return p.Map }},
		{"map root", func(p *interchain.StateProof) []byte { return p.MapRoot }},
		{"log root", func(p *interchain.StateProof) []byte { return p.LogRoot }},
	} {
		n := len(part.get(good()))
		for i := 0; i < n; i++ {
			p := good()
			part.get(p)[i] ^= 0x01
			if err := interchain.VerifyState(r, clientID, p, key, val); err == nil {
				t.Fatalf("%s with byte %d flipped verified", part.name, i)
			}
		}
	}
	refused := []struct {
		name       string
		p          *interchain.StateProof
		key, value string
		absent     bool
		code       uint32
	}{
		{"a key not in B's state", b.prove(t, 2, "id/mallory"), "id/mallory", "provider", false, interchain.CodeProof},
		{"another key's proof", good(), "supply/event/e2", "dispensed", false, interchain.CodeProof},
		{"a wrong value", good(), "supply/event/e1", "recalled", false, interchain.CodeProof},
		{"a present key claimed absent", good(), "supply/event/e1", "", true, interchain.CodeProof},
		{"the log size changed", func() *interchain.StateProof { p := good(); p.LogSize++; return p }(), "supply/event/e1", "dispensed", false, interchain.CodeProof},
		// State 2's proof claimed for state 1: checked against header 2's app hash, it fails.
		{"a proof relabelled to the height before", func() *interchain.StateProof { p := good(); p.Height = 1; return p }(), "supply/event/e1", "dispensed", false, interchain.CodeProof},
		{"a height never verified", func() *interchain.StateProof { p := good(); p.Height = 3; return p }(), "supply/event/e1", "dispensed", false, interchain.CodeUnverified},
		{"height 0", func() *interchain.StateProof { p := good(); p.Height = 0; return p }(), "supply/event/e1", "dispensed", false, interchain.CodeInvalid},
		{"no proof", nil, "supply/event/e1", "dispensed", false, interchain.CodeProof},
	}
	for _, c := range refused {
		var v []byte
		if !c.absent {
			v = []byte(c.value)
		}
		wantCode(t, c.name, interchain.VerifyState(r, clientID, c.p, []byte(c.key), v), c.code)
	}
	wantCode(t, "unknown client", interchain.VerifyState(r, "nobody", good(), key, val), interchain.CodeNotFound)
}

// TestVerifyStateNeedsTheNextHeader: the proof of B's state at height h needs header h+1;
// a client that verified header h only (whose app hash is state h-1's) cannot check it.
func TestVerifyStateNeedsTheNextHeader(t *testing.T) {
	b := newCounterparty(t)
	b.commit(t, 1, map[string]string{"k": "v1"})
	b.commit(t, 2, map[string]string{"k": "v2"})
	o := withClient(t)
	hd := header(2)
	hd.AppHash = b.hash[1]
	wantCode(t, "header 2", o.update(1, sign(hd)), 0)
	r := o.st.Committed()
	wantCode(t, "state 1 against header 2", interchain.VerifyState(r, clientID, b.prove(t, 1, "k"), []byte("k"), []byte("v1")), 0)
	wantCode(t, "state 2 without header 3", interchain.VerifyState(r, clientID, b.prove(t, 2, "k"), []byte("k"), []byte("v2")), interchain.CodeUnverified)
}

func TestVerifyEvent(t *testing.T) {
	o, b, want := provenChain(t)
	r := o.st.Committed()
	good := func() *interchain.EventProof {
		ep, err := b.views[2].EventProof(0)
		if err != nil {
			t.Fatal(err)
		}
		return (*interchain.EventProof)(ep)
	}
	ev, err := interchain.VerifyEvent(r, clientID, good())
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != want.Action || ev.Subject != want.Subject || ev.Index != 0 {
		t.Fatalf("proven event %+v, want %+v", ev, want)
	}
	for i := range good().Leaf {
		p := good()
		p.Leaf[i] ^= 0x01
		if _, err := interchain.VerifyEvent(r, clientID, p); err == nil {
			t.Fatalf("event with byte %d flipped verified", i)
		}
	}
	for _, c := range []struct {
		name string
		edit func(*interchain.EventProof)
		code uint32
	}{
		{"map root flipped", func(p *interchain.EventProof) { p.MapRoot[0] ^= 1 }, interchain.CodeProof},
		{"log root flipped", func(p *interchain.EventProof) { p.LogRoot[31] ^= 1 }, interchain.CodeProof},
		{"index beyond the log", func(p *interchain.EventProof) { p.Index = p.LogSize }, interchain.CodeProof},
		{"a height never verified", func(p *interchain.EventProof) { p.Height = 5 }, interchain.CodeUnverified},
	} {
		p := good()
		c.edit(p)
		_, err := interchain.VerifyEvent(r, clientID, p)
		wantCode(t, c.name, err, c.code)
	}
}
