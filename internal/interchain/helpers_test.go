package interchain_test

import (
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

const (
	ourChain = "ehr-a"
	chainB   = "supply-1"
	clientID = "supply"
	period   = 14 * 24 * time.Hour
)

// t0 is the time of the counterparty's first header.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

var (
	registrar = &identity.Identity{ID: "registrar", Role: identity.Registrar, Active: true}
	relayer   = &identity.Identity{ID: "relayer", Role: identity.Provider, Active: true}
)

// ours is this chain's state, driven the way the app drives a handler: one overlay per
// transaction, flushed only if the handler accepted it.
type ours struct {
	t      testing.TB
	st     *state.Store
	height int64
	now    time.Time // our block time
}

func newOurs(t testing.TB) *ours {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &ours{t: t, st: st, now: t0.Add(time.Hour)}
}

// run executes one handler in its own block and returns its error (nil: accepted).
func (o *ours) run(signer *identity.Identity, exec func(interchain.Store, identity.Env) *tx.Error) *tx.Error {
	o.t.Helper()
	o.height++
	env := identity.Env{ChainID: ourChain, Height: o.height, Time: o.now, TxHash: "00", Signer: signer}
	txn := o.st.Begin()
	err := exec(txn, env)
	if err == nil {
		txn.Flush()
	}
	if _, cerr := o.st.Commit(o.height); cerr != nil {
		o.t.Fatal(cerr)
	}
	return err
}

func (o *ours) create(signer *identity.Identity, b *interchain.CreateBody) *tx.Error {
	return o.run(signer, func(st interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecCreate(st, env, signer.ID, roundTrip(o.t, b, interchain.DecodeCreate))
	})
}

func (o *ours) update(trusted int64, lb *types.LightBlock) *tx.Error {
	b := &interchain.UpdateBody{ClientID: clientID, TrustedHeight: trusted, LightBlock: encodeLB(o.t, lb)}
	return o.run(relayer, func(st interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecUpdate(st, env, relayer.ID, roundTrip(o.t, b, interchain.DecodeUpdate))
	})
}

func (o *ours) misbehaviour(ta int64, a *types.LightBlock, tb int64, b *types.LightBlock) *tx.Error {
	body := &interchain.MisbehaviourBody{ClientID: clientID,
		A: interchain.Evidence{TrustedHeight: ta, LightBlock: encodeLB(o.t, a)},
		B: interchain.Evidence{TrustedHeight: tb, LightBlock: encodeLB(o.t, b)}}
	return o.run(relayer, func(st interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecMisbehaviour(st, env, relayer.ID, roundTrip(o.t, body, interchain.DecodeMisbehaviour))
	})
}

func (o *ours) client() *interchain.Client { return interchain.GetClient(o.st.Committed(), clientID) }

// roundTrip encodes a body as a transaction carries it and decodes it as the router does.
func roundTrip[B tx.Body](t testing.TB, b B, dec func([]byte) (B, error)) B {
	t.Helper()
	w := tx.NewWriter(0)
	b.Encode(w)
	out, err := dec(w.Bytes())
	if err != nil {
		t.Fatalf("decode %T: %v", b, err)
	}
	return out
}

func encodeLB(t testing.TB, lb *types.LightBlock) []byte {
	t.Helper()
	b, err := interchain.EncodeLightBlock(lb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vals is the counterparty's validator set: four validators of power 10.
var vals = interchaintest.NewSet("b", 4, 10)

// header is the counterparty's block h, at t0 + h minutes, signed by all of vals.
func header(h int64) interchaintest.Header {
	return interchaintest.Header{ChainID: chainB, Height: h, Time: t0.Add(time.Duration(h-1) * time.Minute),
		AppHash: []byte{byte(h), 0xab}, Vals: vals}
}

func sign(h interchaintest.Header) *types.LightBlock { return interchaintest.Sign(h) }

func createBody(lb *types.LightBlock) *interchain.CreateBody {
	return &interchain.CreateBody{ClientID: clientID, ChainID: chainB, TrustingPeriod: period, LightBlock: encodeLBNoT(lb)}
}

func encodeLBNoT(lb *types.LightBlock) []byte {
	b, err := interchain.EncodeLightBlock(lb)
	if err != nil {
		panic(err)
	}
	return b
}

// withClient is our chain with a client of chainB created from the counterparty's header 1.
func withClient(t testing.TB) *ours {
	t.Helper()
	o := newOurs(t)
	if err := o.create(registrar, createBody(sign(header(1)))); err != nil {
		t.Fatalf("create client: %v", err)
	}
	return o
}

func wantCode(t testing.TB, what string, err *tx.Error, code uint32) {
	t.Helper()
	switch {
	case code == 0 && err != nil:
		t.Fatalf("%s: refused: %v", what, err)
	case code != 0 && err == nil:
		t.Fatalf("%s: accepted, want %s/%d", what, interchain.Space, code)
	case code != 0 && (err.Codespace != string(interchain.Space) || err.Code != code):
		t.Fatalf("%s: got %v, want %s/%d", what, err, interchain.Space, code)
	}
}
