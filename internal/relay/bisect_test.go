package relay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

const (
	ourChain = "ehr-a"
	chainB   = "supply-1"
	clientID = "supply"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// sliding is a counterparty whose validators change by one every block: block h is
// signed by pool validators h-1 .. h+2 (four of power 10). From header h the trusted
// validators hold 3/4 of header h+1's power, 2/4 of h+2's, 1/4 of h+3's: a skip of three
// or more is under the trust level of 1/3, and only bisection gets across.
type sliding struct {
	blocks  map[int64]*types.LightBlock
	newest  int64
	base    int64 // blocks below it are pruned
	fetched []int64
}

func newSliding(n int64) *sliding {
	pool := interchaintest.NewSet("pool", int(n)+4, 10)
	window := func(h int64) *interchaintest.Set { return pool.Take(int(h-1), int(h+3)) }
	s := &sliding{blocks: map[int64]*types.LightBlock{}, newest: n}
	for h := int64(1); h <= n; h++ {
		s.blocks[h] = interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: h, Time: t0.Add(time.Duration(h) * time.Minute),
			AppHash: fmt.Appendf(nil, "state %d", h), Vals: window(h), Next: window(h + 1)})
	}
	return s
}

func (s *sliding) LightBlock(_ context.Context, h int64) (*types.LightBlock, error) {
	if h == 0 {
		h = s.newest
	}
	s.fetched = append(s.fetched, h)
	lb, ok := s.blocks[h]
	if !ok || h < s.base {
		return nil, fmt.Errorf("no block %d", h)
	}
	return lb, nil
}

// ledger is the chain keeping the client: a real state store, each update executed by
// interchain.ExecUpdate in its own block, as the app runs it.
type ledger struct {
	t       testing.TB
	st      *state.Store
	height  int64
	now     time.Time
	refused []string
	reports int // misbehaviour reports accepted
}

func newLedger(t testing.TB, first *types.LightBlock) *ledger {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l := &ledger{t: t, st: st, now: t0.Add(24 * time.Hour)}
	raw, err := interchain.EncodeLightBlock(first)
	if err != nil {
		t.Fatal(err)
	}
	reg := &identity.Identity{ID: "registrar", Role: identity.Registrar, Active: true}
	if err := l.exec(reg, func(s interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecCreate(s, env, reg.ID, &interchain.CreateBody{ClientID: clientID, ChainID: chainB, TrustingPeriod: 14 * 24 * time.Hour, LightBlock: raw})
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *ledger) exec(who *identity.Identity, fn func(interchain.Store, identity.Env) *tx.Error) *tx.Error {
	l.height++
	txn := l.st.Begin()
	err := fn(txn, identity.Env{ChainID: ourChain, Height: l.height, Time: l.now, TxHash: "00", Signer: who})
	if err == nil {
		txn.Flush()
	}
	if _, cerr := l.st.Commit(l.height); cerr != nil {
		l.t.Fatal(cerr)
	}
	return err
}

func (l *ledger) Client(_ context.Context, id string) (*interchain.ClientInfo, error) {
	info, err := interchain.Info(l.st.Committed(), l.height, id)
	if err != nil {
		return nil, err
	}
	return info, nil
}

func (l *ledger) Below(_ context.Context, id string, h int64) (*interchain.Consensus, error) {
	return interchain.Below(l.st.Committed(), id, h), nil
}

func (l *ledger) Update(_ context.Context, b *interchain.UpdateBody) error {
	body, err := interchain.DecodeUpdate(bodyBytes(b))
	if err != nil {
		return err
	}
	who := &identity.Identity{ID: "relayer", Role: identity.Provider, Active: true}
	if terr := l.exec(who, func(s interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecUpdate(s, env, who.ID, body)
	}); terr != nil {
		l.refused = append(l.refused, fmt.Sprintf("from %d: %d", b.TrustedHeight, terr.Code))
		return terr
	}
	return nil
}

func (l *ledger) Misbehaviour(_ context.Context, b *interchain.MisbehaviourBody) error {
	body, err := interchain.DecodeMisbehaviour(bodyBytes(b))
	if err != nil {
		return err
	}
	who := &identity.Identity{ID: "relayer", Role: identity.Provider, Active: true}
	if terr := l.exec(who, func(s interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecMisbehaviour(s, env, who.ID, body)
	}); terr != nil {
		l.refused = append(l.refused, fmt.Sprintf("misbehaviour: %d", terr.Code))
		return terr
	}
	l.reports++
	return nil
}

func (l *ledger) latest() int64 { return interchain.GetClient(l.st.Committed(), clientID).LatestHeight }

// bodyBytes is b as a transaction carries it, so the ledger decodes what a node would.
func bodyBytes(b tx.Body) []byte {
	w := &tx.Writer{}
	b.Encode(w)
	return w.Bytes()
}

// TestBisectAcrossChangingValidators: the newest header is too far from the trusted one
// for its validators; the relayer relays pivots half-way, as CometBFT's light client
// bisects, and the client ends at the newest height, every step verified by the ledger.
// When the source still serves the trusted block, the relayer counts the trusted power
// itself and submits only headers that verify; when it was pruned, the ledger's refusals
// (code 8) pick the same pivots.
func TestBisectAcrossChangingValidators(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    int64
		refused int
	}{
		{"trusted block served", 1, 0},
		{"trusted block pruned", 2, 3}, // 1→16, 1→8, 1→4 refused, 1→2 verifies; from block 2 on the relayer counts
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSliding(16)
			l := newLedger(t, src.blocks[1])
			src.base = tc.base
			r := &relay.Relayer{Source: src, Target: l, ClientID: clientID, Logf: t.Logf}
			res, err := r.Once(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := []int64{2, 4, 6, 8, 10, 12, 14, 16}; !slices.Equal(res.Relayed, want) || res.From != 1 || res.To != 16 {
				t.Fatalf("relayed %v (%d to %d), want %v (1 to 16)", res.Relayed, res.From, res.To, want)
			}
			if res.Refused != len(l.refused) {
				t.Fatalf("the relayer counts %d refusals, the ledger refused %v", res.Refused, l.refused)
			}
			if len(l.refused) != tc.refused {
				t.Fatalf("the ledger refused %v, want %d refusals", l.refused, tc.refused)
			}
			if c := l.latest(); c != 16 {
				t.Fatalf("client at %d", c)
			}
			for _, h := range res.Relayed {
				if interchain.GetConsensus(l.st.Committed(), clientID, h) == nil {
					t.Fatalf("header %d reported relayed but not verified", h)
				}
			}
			// Nothing newer: a second round submits nothing.
			before := l.height
			if res, err := r.Once(context.Background()); err != nil || len(res.Relayed) != 0 || l.height != before {
				t.Fatalf("second round: %+v, %v, %d blocks", res, err, l.height-before)
			}
		})
	}
}

// TestRelayStopsOnAnotherFork: a source whose block at the client's trusted height is not
// the block the client verified is on another fork (or is another network's node of the
// same chain id); the relayer submits nothing from it.
func TestRelayStopsOnAnotherFork(t *testing.T) {
	src := newSliding(4)
	l := newLedger(t, src.blocks[1])
	fork := newSliding(4)
	fork.blocks[1] = interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: 1, Time: t0.Add(time.Minute), AppHash: []byte("fork"),
		Vals: interchaintest.NewSet("pool", 8, 10).Take(0, 4), Next: interchaintest.NewSet("pool", 8, 10).Take(1, 5)})
	before := l.height
	_, err := (&relay.Relayer{Source: fork, Target: l, ClientID: clientID}).Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another fork") {
		t.Fatalf("want a refusal to relay from another fork, got %v", err)
	}
	if l.height != before {
		t.Fatal("a header from another fork was submitted")
	}
}

// TestBisectStopsAtABrokenLink: a header signed by validators the trusted header never
// named cannot verify even from its neighbour; the relayer stops with the ledger's
// refusal (code 8) instead of bisecting forever, and the client keeps what it verified.
func TestBisectStopsAtABrokenLink(t *testing.T) {
	src := newSliding(6)
	impostors := interchaintest.NewSet("evil", 4, 10)
	for h := int64(4); h <= 6; h++ {
		src.blocks[h] = interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: h, Time: t0.Add(time.Duration(h) * time.Minute), Vals: impostors})
	}
	l := newLedger(t, src.blocks[1])
	r := &relay.Relayer{Source: src, Target: l, ClientID: clientID}
	res, err := r.Once(context.Background())
	var te *tx.Error
	if !errors.As(err, &te) || te.Code != interchain.CodeNotTrusted || !strings.Contains(err.Error(), "adjacent") {
		t.Fatalf("want the adjacent header's refusal (interchain/8), got %v", err)
	}
	if res.To != 3 {
		t.Fatalf("client should keep the headers before the break, at 3; result %+v", res)
	}
	if c := l.latest(); c != 3 {
		t.Fatalf("client at %d, want 3", c)
	}
}

// TestRelayRefusesTheWrongChainAndAFrozenClient: a source of another chain is refused
// before anything is submitted; a frozen client ends the loop.
func TestRelayRefusesTheWrongChainAndAFrozenClient(t *testing.T) {
	src := newSliding(3)
	l := newLedger(t, src.blocks[1])
	other := &sliding{blocks: map[int64]*types.LightBlock{}, newest: 2}
	set := interchaintest.NewSet("o", 1, 10)
	other.blocks[2] = interchaintest.Sign(interchaintest.Header{ChainID: "other-chain", Height: 2, Time: t0.Add(2 * time.Minute), Vals: set})
	before := l.height
	if _, err := (&relay.Relayer{Source: other, Target: l, ClientID: clientID}).Once(context.Background()); err == nil || !strings.Contains(err.Error(), "other-chain") {
		t.Fatalf("a source of another chain: %v", err)
	}
	if l.height != before {
		t.Fatal("a header of another chain was submitted")
	}

	// Two different headers of height 2, both verified: the client freezes.
	fork := interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: 2, Time: t0.Add(2 * time.Minute), AppHash: []byte("fork"),
		Vals: interchaintest.NewSet("pool", 7, 10).Take(1, 5), Next: interchaintest.NewSet("pool", 7, 10).Take(2, 6)})
	r := &relay.Relayer{Source: src, Target: l, ClientID: clientID}
	if _, err := r.RelayTo(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	raw, _ := interchain.EncodeLightBlock(fork)
	if err := l.Update(context.Background(), &interchain.UpdateBody{ClientID: clientID, TrustedHeight: 1, LightBlock: raw}); err != nil {
		t.Fatalf("the conflicting header: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Run(ctx, time.Millisecond); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("Run on a frozen client: %v", err)
	}
}
