package records

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestOutcomesReadBackInEitherForm: an outcome reads back as it was decided, from the binary
// form and from the JSON databases of earlier versions hold, whether its transaction field
// is a hash or not; a value in neither form is refused, not read as some other outcome.
func TestOutcomesReadBackInEitherForm(t *testing.T) {
	at := time.Date(2026, 12, 4, 5, 6, 7, 891, time.UTC)
	for _, o := range []Outcome{
		{Allowed: true, Reason: "grant g-1 permits treatment", Grant: "g-1", Event: 1 << 40, Height: 77, Tx: strings.Repeat("ab", 32), Time: at, Version: 3, Rule: "grant"},
		{Reason: "no grant covers this record", Event: 9, Height: 1, Tx: "not a hash", Time: at, Rule: "no-grant"},
		{Allowed: true, Reason: "break-glass", Emergency: "em-1", Tx: strings.Repeat("AB", 32), Time: time.Unix(0, 0).UTC()},
		{},
	} {
		old, _ := json.Marshal(o)
		for form, b := range map[string][]byte{"binary": encodeOutcome(&o), "json": old} {
			got, err := decodeOutcome(b)
			if err != nil || *got != o {
				t.Errorf("%s: %+v read back as %+v (%v)", form, o, got, err)
			}
		}
	}
	allowed := Outcome{Allowed: true, Reason: "grant", Grant: "g-1", Event: 123456, Height: 5000, Tx: strings.Repeat("ab", 32), Time: at, Version: 1, Rule: "grant"}
	j, _ := json.Marshal(allowed)
	if b := encodeOutcome(&allowed); len(b)*3 > len(j) {
		t.Errorf("binary outcome %d bytes, JSON %d: not the third it should be", len(b), len(j))
	}
	good := encodeOutcome(&allowed)
	for name, b := range map[string][]byte{
		"empty":            {},
		"unknown form":     append([]byte{2}, good[1:]...),
		"unknown flag":     append([]byte{outcomeFormat, 4}, good[2:]...),
		"cut short":        good[:len(good)-3],
		"bytes after":      append(append([]byte{}, good...), 0),
		"json that breaks": []byte(`{"allowed":`),
	} {
		if o, err := decodeOutcome(b); err == nil {
			t.Errorf("%s: decoded as %+v", name, o)
		}
	}
}

// TestOutcomesKeptInExpiryOrder: outcomes are kept by the request's expiry then hash, so
// that a block's fall together at the end of their range; an outcome an earlier release
// kept by hash alone still makes its request void when replayed, and is still found.
func TestOutcomesKeptInExpiryOrder(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	q := c.request(c.pat, "r1", access.Treatment)
	c.readBatch(q)
	if c.Store.GetIndex(outcomeKey(q.NotAfter, q.Hash())) == nil || c.Store.GetIndex(requestKey(q.Hash())) != nil {
		t.Fatal("the outcome is not kept under the request's expiry and hash alone")
	}
	if a, b := outcomeKey(100, [32]byte{0xff}), outcomeKey(101, [32]byte{}); bytes.Compare(a, b) >= 0 {
		t.Fatal("outcome keys do not sort by expiry first")
	}

	old := c.request(c.pat, "r1", access.Treatment)
	recorded := Outcome{Allowed: true, Rule: string(access.Self), Version: 1, Height: 3, Tx: "earlier", Time: t0}
	c.ok("", func(s *state.Tx, _ identity.Env) *tx.Error {
		s.PutIndex(requestKey(old.Hash()), encodeOutcome(&recorded))
		return nil
	})
	before := c.Commit().LogSize()
	c.readBatch(old)
	if c.Commit().LogSize() != before || c.Store.GetIndex(outcomeKey(old.NotAfter, old.Hash())) != nil {
		t.Fatal("a request an earlier release recorded was taken again")
	}
	if o := Result(c.Store, old); o == nil || o.Tx != "earlier" {
		t.Fatalf("the outcome an earlier release kept reads %+v", o)
	}
}
