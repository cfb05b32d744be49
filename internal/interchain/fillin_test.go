package interchain_test

import (
	"bytes"
	"testing"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
)

// TestFillInLetsAnEarlierProofCheck: the client follows B's newest header and skips the
// header a proof needs; the header is filled in below the latest, verified forward from a
// lower verified header, and the proof checks. The latest height stays the highest.
func TestFillInLetsAnEarlierProofCheck(t *testing.T) {
	b := newCounterparty(t)
	for h := int64(1); h <= 9; h++ {
		b.commit(t, h, map[string]string{"supply/event/e1": "dispensed " + string(rune('0'+h))})
	}
	hd := func(h int64) interchaintest.Header {
		x := header(h)
		x.AppHash = b.hash[h-1] // header h carries the state after block h-1
		return x
	}
	o := withClient(t)
	wantCode(t, "header 10, skipping", o.update(1, sign(hd(10))), 0)

	p := b.prove(t, 4, "supply/event/e1") // B's state 4 is in header 5, which the client skipped
	r := o.st.Committed()
	wantCode(t, "the proof before the fill-in", interchain.VerifyState(r, clientID, p, []byte("supply/event/e1"), []byte("dispensed 4")), interchain.CodeUnverified)
	if below := interchain.Below(r, clientID, 6); below == nil || below.Height != 1 {
		t.Fatalf("highest verified below 6: %+v, want header 1", below)
	}

	wantCode(t, "header 5 filled in from 1", o.update(1, sign(hd(5))), 0)
	r = o.st.Committed()
	if c := o.client(); c.LatestHeight != 10 || c.Frozen {
		t.Fatalf("client after the fill-in: %+v", c)
	}
	if err := interchain.VerifyState(r, clientID, p, []byte("supply/event/e1"), []byte("dispensed 4")); err != nil {
		t.Fatalf("the proof of state 4 after header 5 was filled in: %v", err)
	}
	wantCode(t, "the proof with another value", interchain.VerifyState(r, clientID, p, []byte("supply/event/e1"), []byte("dispensed 5")), interchain.CodeProof)
	wantCode(t, "header 5 again", o.update(1, sign(hd(5))), interchain.CodeExists)
	wantCode(t, "header 7 filled in from 5", o.update(5, sign(hd(7))), 0)
	wantCode(t, "header 12 above the latest, from the fill-in 7", o.update(7, sign(hd(12))), 0)
	if c := o.client(); c.LatestHeight != 12 {
		t.Fatalf("latest after header 12: %d", c.LatestHeight)
	}

	r = o.st.Committed()
	for _, c := range []struct{ below, want int64 }{
		{1, 0}, {2, 1}, {5, 1}, {6, 5}, {7, 5}, {8, 7}, {10, 7}, {11, 10}, {12, 10}, {13, 12}, {1 << 40, 12},
	} {
		got := interchain.Below(r, clientID, c.below)
		switch {
		case c.want == 0 && got != nil:
			t.Fatalf("below %d: %+v, want none", c.below, got)
		case c.want != 0 && (got == nil || got.Height != c.want):
			t.Fatalf("below %d: %+v, want header %d", c.below, got, c.want)
		}
	}
	if got := interchain.Below(r, "other", 5); got != nil {
		t.Fatalf("below 5 of a client that does not exist: %+v", got)
	}
}

// TestFillInRefusals tries to get a header below the latest past the client.
func TestFillInRefusals(t *testing.T) {
	forked := header(5)
	forked.AppHash = []byte("a forked state")
	impostors := interchaintest.NewSet("evil", 3, 10)
	t.Run("from the latest height, above the header", func(t *testing.T) {
		o := withClient(t)
		wantCode(t, "header 10", o.update(1, sign(header(10))), 0)
		wantCode(t, "header 5 from 10", o.update(10, sign(header(5))), interchain.CodeInvalid)
		noConsensus(t, o, 5)
	})
	t.Run("from its own height", func(t *testing.T) {
		o := withClient(t)
		wantCode(t, "header 10", o.update(1, sign(header(10))), 0)
		wantCode(t, "header 5 from 5", o.update(5, sign(header(5))), interchain.CodeInvalid)
		noConsensus(t, o, 5)
	})
	t.Run("no verified height below it", func(t *testing.T) {
		// A client created from header 5: header 3 has nothing below it to verify from.
		o := newOurs(t)
		if err := o.create(registrar, createBody(sign(header(5)))); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "header 3 from 2, never verified", o.update(2, sign(header(3))), interchain.CodeUnverified)
		wantCode(t, "header 3 from 5", o.update(5, sign(header(3))), interchain.CodeInvalid)
		noConsensus(t, o, 3)
		if got := interchain.Below(o.st.Committed(), clientID, 5); got != nil {
			t.Fatalf("below 5: %+v", got)
		}
	})
	t.Run("signed by impostors", func(t *testing.T) {
		o := withClient(t)
		wantCode(t, "header 10", o.update(1, sign(header(10))), 0)
		h := header(5)
		h.Vals = vals.Take(0, 1).Join(impostors)
		wantCode(t, "header 5 of other validators", o.update(1, sign(h)), interchain.CodeNotTrusted)
		noConsensus(t, o, 5)
	})
	t.Run("a conflicting fill-in freezes", func(t *testing.T) {
		o := withClient(t)
		wantCode(t, "header 5", o.update(1, sign(header(5))), 0)
		wantCode(t, "header 10", o.update(5, sign(header(10))), 0)
		wantCode(t, "a conflicting header 5, filled in from 1", o.update(1, sign(forked)), 0)
		c := o.client()
		if !c.Frozen || c.FrozenHeight != 5 || c.LatestHeight != 10 {
			t.Fatalf("client after a conflicting fill-in: %+v", c)
		}
		if cs := interchain.GetConsensus(o.st.Committed(), clientID, 5); !bytes.Equal(cs.AppHash, header(5).AppHash) {
			t.Fatalf("the conflicting header replaced the verified one: %+v", cs)
		}
		wantCode(t, "a fill-in on the frozen client", o.update(1, sign(header(3))), interchain.CodeFrozen)
	})
}

func noConsensus(t *testing.T, o *ours, h int64) {
	t.Helper()
	if cs := interchain.GetConsensus(o.st.Committed(), clientID, h); cs != nil {
		t.Fatalf("a refused header left a consensus state at %d: %+v", h, cs)
	}
	if c := o.client(); c.Frozen {
		t.Fatalf("a refused header froze the client: %+v", c)
	}
}
