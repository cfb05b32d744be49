package relay_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// window is the validators of newSliding's block h.
func window(h int64) *interchaintest.Set {
	return interchaintest.NewSet("pool", int(h)+4, 10).Take(int(h-1), int(h+3))
}

// forkOf is newSliding(n) forked from height from on: the same validators sign other
// blocks (another app hash, half a minute later), as validators that equivocate would.
func forkOf(n, from int64) *sliding {
	s := newSliding(n)
	for h := from; h <= n; h++ {
		s.blocks[h] = interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: h, Time: t0.Add(time.Duration(h)*time.Minute + 30*time.Second),
			AppHash: fmt.Appendf(nil, "fork %d", h), Vals: window(h), Next: window(h + 1)})
	}
	return s
}

// relayedTo4 is a ledger whose client of newSliding(8) verified headers 1 (its creation),
// 2 and 4, and the relayer that relayed them.
func relayedTo4(t *testing.T) (*ledger, *sliding, *relay.Relayer) {
	t.Helper()
	src := newSliding(8)
	l := newLedger(t, src.blocks[1])
	r := &relay.Relayer{Source: src, Target: l, ClientID: clientID, Logf: t.Logf, Now: func() time.Time { return l.now }}
	if res, err := r.RelayTo(context.Background(), 4); err != nil || res.To != 4 || interchain.GetConsensus(l.st.Committed(), clientID, 2) == nil {
		t.Fatalf("relaying to 4: %+v, %v", res, err)
	}
	return l, src, r
}

// frozenAt checks the client is frozen at counterparty height h and refuses an update.
func frozenAt(t *testing.T, l *ledger, src *sliding, h int64) {
	t.Helper()
	c := interchain.GetClient(l.st.Committed(), clientID)
	if !c.Frozen || c.FrozenHeight != h || c.FrozenAt != l.height {
		t.Fatalf("client after the report: %+v, want frozen at %d by block %d", c, h, l.height)
	}
	raw, _ := interchain.EncodeLightBlock(src.blocks[5])
	var te *tx.Error
	if err := l.Update(context.Background(), &interchain.UpdateBody{ClientID: clientID, TrustedHeight: 4, LightBlock: raw}); !errors.As(err, &te) || te.Code != interchain.CodeFrozen {
		t.Fatalf("an update after the report: %v, want interchain/%d", err, interchain.CodeFrozen)
	}
}

// TestReportsAForkedSource: the relayer's source forks under it: its block 4 is another
// block than the one the client verified, signed by the same validators. The relayer
// reports both headers, verified from header 2, the client freezes, and the loop ends.
func TestReportsAForkedSource(t *testing.T) {
	ctx := context.Background()
	l, src, r := relayedTo4(t)
	r.Source = forkOf(8, 3)
	before := l.height
	_, err := r.Once(ctx)
	var rep *relay.Reported
	if !errors.As(err, &rep) || rep.Height != 4 || rep.Trusted != 2 || rep.Other != "the source" || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("want a report of header 4 from 2, got %v", err)
	}
	if l.reports != 1 || l.height != before+1 {
		t.Fatalf("%d reports in %d blocks, want 1 in 1", l.reports, l.height-before)
	}
	frozenAt(t, l, src, 4)
	ctx2, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := r.Run(ctx2, time.Millisecond); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("Run after the report: %v", err)
	}
}

// TestReportNeedsTheClientsHeader: a relayer that did not relay the client's header 4
// (started after the fork, or another relayer relayed it) has no copy of it, and A keeps
// only its hashes: without a witness it stops as before; with a witness on the same fork
// too; with an honest witness it reports.
func TestReportNeedsTheClientsHeader(t *testing.T) {
	ctx := context.Background()
	l, src, _ := relayedTo4(t)
	fork := forkOf(8, 3)
	before := l.height
	for _, w := range [][]relay.Source{nil, {fork}, {&sliding{blocks: map[int64]*types.LightBlock{}}}} {
		r := &relay.Relayer{Source: fork, Target: l, ClientID: clientID, Witnesses: w, Now: func() time.Time { return l.now }}
		if _, err := r.Once(ctx); err == nil || !strings.Contains(err.Error(), "another fork") || !strings.Contains(err.Error(), "no copy of the client's own header 4") {
			t.Fatalf("no copy of header 4 (witnesses %v): %v", w, err)
		}
	}
	if l.height != before {
		t.Fatalf("%d transactions submitted without a report to make", l.height-before)
	}
	r := &relay.Relayer{Source: fork, Target: l, ClientID: clientID, Witnesses: []relay.Source{fork, src}, Now: func() time.Time { return l.now }}
	var rep *relay.Reported
	if _, err := r.Once(ctx); !errors.As(err, &rep) || rep.Height != 4 {
		t.Fatalf("with an honest witness: %v", err)
	}
	frozenAt(t, l, src, 4)
}

// TestNoReportThatWouldBeRefused: a source whose block 4 differs from the client's but is
// not signed well enough (validators the client never trusted, a quarter of its own,
// a commit of another header, another chain's block) is no misbehaviour of the
// counterparty; each such report, submitted by hand, is refused by the ledger, and the
// relayer sends none. A client's first header has nothing below it to check a report from.
func TestNoReportThatWouldBeRefused(t *testing.T) {
	ctx := context.Background()
	h4 := func(chain string, vals, signers *interchaintest.Set) *types.LightBlock {
		return interchaintest.Sign(interchaintest.Header{ChainID: chain, Height: 4, Time: t0.Add(4*time.Minute + 30*time.Second), AppHash: []byte("fork 4"),
			Vals: vals, Next: window(5), Signers: signers})
	}
	broken := h4(chainB, window(4), nil)
	broken.Header.AppHash = []byte("another state") // the commit signs the header before this
	for _, tc := range []struct {
		name string
		lb   *types.LightBlock
		code uint32
	}{
		{"signed by validators the client never trusted", h4(chainB, interchaintest.NewSet("evil", 4, 10), nil), interchain.CodeNotTrusted},
		{"signed by a quarter of its validators", h4(chainB, window(4), window(4).Take(0, 1)), interchain.CodeNotTrusted},
		{"a commit of another header", broken, interchain.CodeInvalid},
		{"another chain's block", h4("other-chain", window(4), nil), interchain.CodeWrongChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, src, _ := relayedTo4(t)
			fork := newSliding(8)
			fork.blocks[4] = tc.lb
			before := l.height
			r := &relay.Relayer{Source: fork, Target: l, ClientID: clientID, Witnesses: []relay.Source{src}, Now: func() time.Time { return l.now }}
			_, err := r.Once(ctx)
			if err == nil || !strings.Contains(err.Error(), "no misbehaviour reported") || !strings.Contains(err.Error(), "would refuse") {
				t.Fatalf("want a stop without a report, got %v", err)
			}
			if l.height != before {
				t.Fatal("the relayer submitted a transaction")
			}
			// The report it did not send is one the ledger refuses.
			honest, _ := interchain.EncodeLightBlock(src.blocks[4])
			bad, _ := interchain.EncodeLightBlock(tc.lb)
			rerr := l.Misbehaviour(ctx, &interchain.MisbehaviourBody{ClientID: clientID,
				A: interchain.Evidence{TrustedHeight: 2, LightBlock: honest}, B: interchain.Evidence{TrustedHeight: 2, LightBlock: bad}})
			var te *tx.Error
			if !errors.As(rerr, &te) || te.Code != tc.code {
				t.Fatalf("the report submitted by hand: %v, want interchain/%d", rerr, tc.code)
			}
			if interchain.GetClient(l.st.Committed(), clientID).Frozen {
				t.Fatal("the client froze")
			}
		})
	}

	t.Run("a fork of the client's first header", func(t *testing.T) {
		src := newSliding(4)
		l := newLedger(t, src.blocks[1])
		fork := forkOf(4, 1)
		before := l.height
		r := &relay.Relayer{Source: fork, Target: l, ClientID: clientID, Witnesses: []relay.Source{src}, Now: func() time.Time { return l.now }}
		if _, err := r.Once(ctx); err == nil || !strings.Contains(err.Error(), "verified no header below 1") {
			t.Fatalf("a fork at the client's first header: %v", err)
		}
		if l.height != before {
			t.Fatal("the relayer submitted a transaction")
		}
	})
}

// TestWitnessCrossCheck: with a witness, each header is compared with the witness's before
// it is relayed. A witness on a fork whose header 6 verifies from the client's header 4
// too is misbehaviour: reported, the client frozen, header 6 never relayed. A witness
// serving an impostor's header, or nothing, is ignored and relaying goes on.
func TestWitnessCrossCheck(t *testing.T) {
	ctx := context.Background()
	impostor := newSliding(8)
	for h := int64(5); h <= 8; h++ {
		impostor.blocks[h] = interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: h, Time: t0.Add(time.Duration(h) * time.Minute),
			Vals: interchaintest.NewSet("evil", 4, 10)})
	}
	for _, w := range []*sliding{impostor, {blocks: map[int64]*types.LightBlock{}}} {
		l, _, r := relayedTo4(t)
		r.Witnesses = []relay.Source{w}
		if res, err := r.Once(ctx); err != nil || res.To != 8 || l.reports != 0 {
			t.Fatalf("relaying past a witness that is wrong or silent: %+v, %v, %d reports", res, err, l.reports)
		}
	}

	l, src, r := relayedTo4(t)
	r.Witnesses = []relay.Source{forkOf(8, 5)}
	res, err := r.Once(ctx)
	var rep *relay.Reported
	if !errors.As(err, &rep) || rep.Height != 6 || rep.Trusted != 4 || rep.Other != "witness 0" {
		t.Fatalf("want a report of header 6 (the bisection's pivot) from 4, got %v", err)
	}
	if len(res.Relayed) != 0 || interchain.GetConsensus(l.st.Committed(), clientID, 6) != nil {
		t.Fatalf("header 6 relayed despite the conflict: %+v", res)
	}
	frozenAt(t, l, src, 6)
}
