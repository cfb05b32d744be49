package relay_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestRelayToFillsInBelowTheLatest: the client followed the source to its newest header,
// skipping odd heights; relaying a skipped height fills it in from the highest header
// verified below it, and the client's latest height stays where it was.
func TestRelayToFillsInBelowTheLatest(t *testing.T) {
	ctx := context.Background()
	src := newSliding(16)
	l := newLedger(t, src.blocks[1])
	r := &relay.Relayer{Source: src, Target: l, ClientID: clientID, Logf: t.Logf}
	if _, err := r.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if interchain.GetConsensus(l.st.Committed(), clientID, 7) != nil {
		t.Fatal("the bisection was expected to skip header 7")
	}
	res, err := r.RelayTo(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Relayed, []int64{7}) || res.From != 16 || res.To != 16 {
		t.Fatalf("fill-in of 7: %+v, want [7] relayed with the client staying at 16", res)
	}
	if cs := interchain.GetConsensus(l.st.Committed(), clientID, 7); cs == nil || cs.VerifiedAt != l.height {
		t.Fatalf("header 7 after the fill-in: %+v", cs)
	}
	if l.latest() != 16 {
		t.Fatalf("client at %d after a fill-in, want 16", l.latest())
	}
	// Held already: nothing is submitted.
	before := l.height
	for _, h := range []int64{7, 8, 16} {
		if res, err := r.RelayTo(ctx, h); err != nil || len(res.Relayed) != 0 {
			t.Fatalf("RelayTo(%d), held already: %+v, %v", h, res, err)
		}
	}
	if l.height != before {
		t.Fatalf("%d blocks submitted for headers the client holds", l.height-before)
	}
}

// TestFillInRefusals: a height below the client's first header has nothing to verify from,
// and a source whose block at the trusted height below is another fork's is not used.
func TestFillInRefusals(t *testing.T) {
	ctx := context.Background()
	src := newSliding(8)
	l := newLedger(t, src.blocks[5])
	r := &relay.Relayer{Source: src, Target: l, ClientID: clientID}
	before := l.height
	_, err := r.RelayTo(ctx, 3)
	var te *tx.Error
	if !errors.As(err, &te) || te.Code != interchain.CodeUnverified {
		t.Fatalf("a fill-in below the client's first header: %v, want interchain/%d", err, interchain.CodeUnverified)
	}
	if l.height != before {
		t.Fatal("a fill-in with nothing below it was submitted")
	}
	if _, err := r.RelayTo(ctx, -1); err == nil {
		t.Fatal("a negative height was accepted")
	}

	l2 := newLedger(t, src.blocks[1])
	r2 := &relay.Relayer{Source: src, Target: l2, ClientID: clientID}
	if _, err := r2.RelayTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	fork := newSliding(8)
	fork.blocks[2] = newSliding(8).blocks[2]
	fork.blocks[2].Header.AppHash = []byte("fork") // block 2 is now another block than the client verified
	before = l2.height
	if _, err := (&relay.Relayer{Source: fork, Target: l2, ClientID: clientID}).RelayTo(ctx, 3); err == nil {
		t.Fatal("a fill-in from another fork's source was relayed")
	}
	if l2.height != before {
		t.Fatal("a header from another fork was submitted")
	}
}
