package interchain_test

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// realChain is what a relayer would take from a real single-node ehrchain network: its
// light blocks (header, commit, validator set), and a proof of one identity and of one
// audit event at a height whose app hash a stored header carries.
type realChain struct {
	chainID  string
	blocks   map[int64]*types.LightBlock
	height   int64 // the state the proofs are of
	key, val []byte
	proof    *interchain.StateProof
	event    *interchain.EventProof
}

// runRealChain starts a node, registers a cast, takes the proofs from the committed view,
// lets the node make two more blocks so header height+1 is stored with its commit, stops it
// and reads the light blocks from CometBFT's stores.
func runRealChain(t *testing.T) *realChain {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	cast := nodetest.RegisterCast(t, ctx, n.Client, reg)
	v := n.Node.View()
	rc := &realChain{chainID: n.Node.ChainID(), height: v.Height(), key: identity.Key(cast.Provider.ID), blocks: map[int64]*types.LightBlock{}}
	rc.val = v.Get(rc.key)
	p, err := v.Prove(rc.key)
	if err != nil {
		t.Fatal(err)
	}
	rc.proof = (*interchain.StateProof)(p)
	ep, err := v.EventProof(v.LogSize() - 1)
	if err != nil {
		t.Fatal(err)
	}
	rc.event = (*interchain.EventProof)(ep)
	for n.Node.Height() < rc.height+2 {
		select {
		case <-ctx.Done():
			t.Fatal("the node made no more blocks")
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.Stop()

	bdb, err := dbm.NewGoLevelDB("blockstore", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	sdb, err := dbm.NewGoLevelDB("state", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	bs, ss := store.NewBlockStore(bdb), sm.NewStore(sdb, sm.StoreOptions{})
	for _, h := range []int64{1, 2, rc.height + 1} {
		meta, commit := bs.LoadBlockMeta(h), bs.LoadBlockCommit(h)
		vals, err := ss.LoadValidators(h)
		if meta == nil || commit == nil || err != nil {
			t.Fatalf("block %d: meta %v, commit %v, validators: %v", h, meta != nil, commit != nil, err)
		}
		rc.blocks[h] = &types.LightBlock{SignedHeader: &types.SignedHeader{Header: &meta.Header, Commit: commit}, ValidatorSet: vals}
	}
	return rc
}

// TestRealChain follows a real node's chain with a light client and checks the node's own
// proofs of an identity and of an audit event against the headers it verified.
func TestRealChain(t *testing.T) {
	rc := runRealChain(t)
	o := newOurs(t)
	o.now = rc.blocks[rc.height+1].Time.Add(2 * time.Second)
	create := &interchain.CreateBody{ClientID: clientID, ChainID: rc.chainID, TrustingPeriod: period, LightBlock: encodeLB(t, rc.blocks[1])}
	wantCode(t, "create from the real header 1", o.create(registrar, create), 0)
	wantCode(t, "adjacent real header 2", o.update(1, rc.blocks[2]), 0)
	wantCode(t, "skipping to the real header carrying the proven state", o.update(2, rc.blocks[rc.height+1]), 0)
	relayed := &interchain.UpdateBody{ClientID: clientID, TrustedHeight: 2, LightBlock: encodeLB(t, rc.blocks[rc.height+1])}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	t.Logf("relayed header %d (1 validator): light block %d bytes, signed update transaction %d bytes",
		rc.height+1, len(relayed.LightBlock), len(tx.Sign(key, [tx.SignerLen]byte{}, ourChain, 0, relayed).Encode()))

	r := o.st.Committed()
	wantCode(t, "the provider's identity", interchain.VerifyState(r, clientID, rc.proof, rc.key, rc.val), 0)
	ev, err := interchain.VerifyEvent(r, clientID, rc.event)
	wantCode(t, "the last audit event", err, 0)
	if ev.Height == 0 || ev.Action == "" {
		t.Fatalf("proven event: %+v", ev)
	}

	flipped := *rc.proof
	flipped.Map = append([]byte{}, rc.proof.Map...)
	flipped.Map[len(flipped.Map)/2] ^= 0x01
	wantCode(t, "a flipped byte", interchain.VerifyState(r, clientID, &flipped, rc.key, rc.val), interchain.CodeProof)
	wantCode(t, "a key not in the chain's state", interchain.VerifyState(r, clientID, rc.proof, identity.Key("nobody"), rc.val), interchain.CodeProof)
	early := *rc.proof
	early.Height = rc.height + 1
	wantCode(t, "a height never verified", interchain.VerifyState(r, clientID, &early, rc.key, rc.val), interchain.CodeUnverified)

	// The real header with another app hash, and its commit pointed at the changed header:
	// the validator's signatures are over the real block.
	forged := *rc.blocks[rc.height+1].SignedHeader
	fh := *forged.Header
	fh.AppHash = []byte("forged state")
	fc := *forged.Commit
	fc.BlockID.Hash = fh.Hash()
	forged.Header, forged.Commit = &fh, &fc
	forgedLB := &types.LightBlock{SignedHeader: &forged, ValidatorSet: rc.blocks[rc.height+1].ValidatorSet}
	o2 := newOurs(t)
	o2.now = o.now
	wantCode(t, "create", o2.create(registrar, create), 0)
	wantCode(t, "a real header with its app hash changed", o2.update(1, forgedLB), interchain.CodeBadCommit)
	wantCode(t, "the real header", o2.update(1, rc.blocks[rc.height+1]), 0)
}
