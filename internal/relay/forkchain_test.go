package relay_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestReportForkOfARealChain: chain A keeps three light clients of chain B, each relayed a
// header past its first. B2 is B's own home copied before B first started: the same
// validator key, signing another history from block 2 on (an equivocating validator). E is
// another network that took the chain id chain-b, with its own validator.
//
//   - b1's relayer, its source switched to B2, finds B2's block at b1's latest height is
//     not the one b1 verified, reports both (it kept its own), and its loop ends: b1 is
//     frozen and refuses the next update.
//   - A new relayer of b2 facing B2 takes b2's header from a witness (B) and reports too.
//   - A new relayer of b3 facing B2 with no witness has no copy of b3's header (A keeps only
//     its hashes): it stops, and sends nothing.
//   - Facing E (with B as witness) or A itself (another chain), b3's relayer stops and sends
//     nothing: E's block is not signed by validators b3 trusts, A's is not of chain-b.
//
// b3 is then relayed from B as before.
func TestReportForkOfARealChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	homeA, regA := nodetest.Init(t)
	homeB, _ := initChain(t, "chain-b")
	homeB2 := nodetest.CopyHome(t, homeB)
	homeE, _ := initChain(t, "chain-b")
	a, b := nodetest.Start(t, homeA), nodetest.Start(t, homeB)
	castA := nodetest.RegisterCast(t, ctx, a.Client, regA)
	src := relay.Node{C: b.Client}
	target := relay.Chain{C: a.Client, Signer: castA.Provider}

	relayers := map[string]*relay.Relayer{}
	var top int64
	for _, id := range []string{"b1", "b2", "b3"} {
		create, _, err := relay.CreateBody(ctx, src, id, 0, 24*time.Hour, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.Send(ctx, regA, create); err != nil {
			t.Fatal(err)
		}
		r := &relay.Relayer{Source: src, Target: target, ClientID: id, Logf: t.Logf}
		waitFor(t, ctx, "a header of B past client "+id+"'s first", func() bool {
			res, err := r.Once(ctx)
			if err != nil {
				t.Logf("relaying to %s: %v", id, err)
			}
			if err == nil && res.To > res.From {
				top = max(top, res.To)
				return true
			}
			return false
		})
		relayers[id] = r
	}
	b2, e := nodetest.Start(t, homeB2), nodetest.Start(t, homeE)
	waitFor(t, ctx, "B2 and E to pass the clients' heights", func() bool { return b2.Node.Height() > top && e.Node.Height() > top })
	info := func(id string) *interchain.Client {
		t.Helper()
		c, err := target.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Client
	}

	// b1: its relayer's source forks under it.
	h1 := info("b1").LatestHeight
	r1 := relayers["b1"]
	r1.Source = relay.Node{C: b2.Client}
	err := r1.Run(ctx, 100*time.Millisecond)
	var rep *relay.Reported
	if !errors.As(err, &rep) || rep.Height != h1 || rep.Other != "the source" {
		t.Fatalf("the loop facing B2: %v, want a report of height %d", err, h1)
	}
	if c := info("b1"); !c.Frozen || c.FrozenHeight != h1 {
		t.Fatalf("b1 after the report: %+v", c)
	}
	wa, err := b.Client.LightBlock(ctx, h1)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := b2.Client.LightBlock(ctx, h1)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tx.ParseSigner(castA.Provider.ID)
	signed := tx.Sign(castA.Provider.Keys.Sign, signer, "test-chain", 0, &interchain.MisbehaviourBody{ClientID: "b1",
		A: interchain.Evidence{TrustedHeight: rep.Trusted, LightBlock: wa.LightBlock}, B: interchain.Evidence{TrustedHeight: rep.Trusted, LightBlock: wb.LightBlock}}).Encode()
	t.Logf("misbehaviour report (1 validator): light blocks %d and %d bytes, signed transaction %d bytes", len(wa.LightBlock), len(wb.LightBlock), len(signed))

	next, err := b.Client.LightBlock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.Send(ctx, castA.Provider, &interchain.UpdateBody{ClientID: "b1", TrustedHeight: h1, LightBlock: next.LightBlock}); !refused(err, interchain.CodeFrozen) {
		t.Fatalf("an update of b1 after the report: %v", err)
	}

	// b2: a relayer that relayed nothing, with B as its witness.
	r2 := &relay.Relayer{Source: relay.Node{C: b2.Client}, Witnesses: []relay.Source{src}, Target: target, ClientID: "b2", Logf: t.Logf}
	if _, err := r2.Once(ctx); !errors.As(err, &rep) || rep.Height != info("b2").LatestHeight {
		t.Fatalf("a new relayer with a witness facing B2: %v", err)
	}
	if !info("b2").Frozen {
		t.Fatal("b2 not frozen after the report")
	}

	// b3: no report it could make is sent.
	seq, err := a.Client.Sequence(ctx, castA.Provider.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		r         *relay.Relayer
		wantError string
	}{
		{"B2, no witness", &relay.Relayer{Source: relay.Node{C: b2.Client}}, "no copy of the client's own header"},
		{"E, a network of the same chain id", &relay.Relayer{Source: relay.Node{C: e.Client}, Witnesses: []relay.Source{src}}, "would refuse the report"},
		{"A itself, another chain", &relay.Relayer{Source: relay.Node{C: a.Client}, Witnesses: []relay.Source{src}}, `the source serves chain "test-chain"`},
	} {
		tc.r.Target, tc.r.ClientID, tc.r.Logf = target, "b3", t.Logf
		if _, err := tc.r.Once(ctx); err == nil || !strings.Contains(err.Error(), tc.wantError) || errors.As(err, &rep) {
			t.Fatalf("b3's relayer facing %s: %v, want %q", tc.name, err, tc.wantError)
		}
	}
	if now, err := a.Client.Sequence(ctx, castA.Provider.ID); err != nil || now != seq {
		t.Fatalf("the relayer's sequence went from %d to %d (%v): it sent a transaction", seq, now, err)
	}
	if info("b3").Frozen {
		t.Fatal("b3 froze")
	}
	h3 := info("b3").LatestHeight
	waitFor(t, ctx, "b3 to be relayed from B again", func() bool {
		res, err := relayers["b3"].Once(ctx)
		return err == nil && res.To > h3
	})
}
