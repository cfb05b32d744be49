package app

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/snapshot"
	"github.com/ehrchain/ehrchain/internal/state"
)

var bg = context.Background()

// snapChain runs the same story on a harness that writes a snapshot every 3 blocks in
// 700-byte chunks: a provider and two patients registered, then empty blocks to height 5.
// It returns the harness and the app hash of height 3.
func snapChain(t *testing.T, reg *keys.Keystore, people []*keys.Keystore) (*harness, []byte) {
	t.Helper()
	h := newHarnessWith(t, reg)
	dir, err := snapshot.Open(filepath.Join(h.dir, "snapshots"), 2, 700)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	h.app.ServeSnapshots(dir, 3)
	h.mustOK(h.sign(reg, registration(people[0], identity.Provider, "General Hospital", "LIC-1")))
	h.mustOK(h.sign(people[1], registration(people[1], identity.Patient, "", "")))
	h.mustOK(h.sign(people[2], registration(people[2], identity.Patient, "", "")))
	at3 := h.st.LastCommit().AppHash
	h.block()
	h.block()
	return h, at3
}

// listed waits for the app to list a snapshot of height.
func listed(t *testing.T, a *App, height uint64) *abci.Snapshot {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := a.ListSnapshots(bg, &abci.RequestListSnapshots{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Snapshots {
			if s.Height == height {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot of height %d listed (have %v)", height, r.Snapshots)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func chunks(t *testing.T, a *App, s *abci.Snapshot) [][]byte {
	t.Helper()
	var out [][]byte
	for i := uint32(0); i < s.Chunks; i++ {
		r, err := a.LoadSnapshotChunk(bg, &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
		if err != nil || len(r.Chunk) == 0 {
			t.Fatalf("chunk %d: %v", i, err)
		}
		out = append(out, r.Chunk)
	}
	return out
}

func emptyApp(t *testing.T) (*App, *state.Store) {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(testChain, st, nil), st
}

func offer(t *testing.T, a *App, s *abci.Snapshot, trusted []byte) abci.ResponseOfferSnapshot_Result {
	t.Helper()
	r, err := a.OfferSnapshot(bg, &abci.RequestOfferSnapshot{Snapshot: s, AppHash: trusted})
	if err != nil {
		t.Fatal(err)
	}
	return r.Result
}

func apply(t *testing.T, a *App, i uint32, chunk []byte, sender string) *abci.ResponseApplySnapshotChunk {
	t.Helper()
	r, err := a.ApplySnapshotChunk(bg, &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk, Sender: sender})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStateSyncRestore: two nodes that ran the same blocks offer byte-identical snapshots;
// a new node restores one — a chunk altered in flight is refused with its sender and
// fetched again — reaches the same app hash, serves the identities, and executes the next
// block to the same app hash as the node it synced from.
func TestStateSyncRestore(t *testing.T) {
	reg := newKS(t, "registrar")
	people := []*keys.Keystore{newKS(t, "dr"), newKS(t, "p1"), newKS(t, "p2")}
	a, at3 := snapChain(t, reg, people)
	b, _ := snapChain(t, reg, people)
	sa, sb := listed(t, a.app, 3), listed(t, b.app, 3)
	if sa.Chunks < 3 {
		t.Fatalf("the snapshot has %d chunks; the test wants several", sa.Chunks)
	}
	ca, cb := chunks(t, a.app, sa), chunks(t, b.app, sb)
	if !bytes.Equal(sa.Hash, sb.Hash) || !bytes.Equal(sa.Metadata, sb.Metadata) || len(ca) != len(cb) {
		t.Fatal("two nodes at the same height offer different snapshots")
	}
	for i := range ca {
		if !bytes.Equal(ca[i], cb[i]) {
			t.Fatalf("chunk %d differs between two nodes at the same height", i)
		}
	}

	c, st := emptyApp(t)
	if got := offer(t, c, sa, at3); got != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", got)
	}
	for i, chunk := range ca {
		if i == 1 { // altered in flight by the peer "liar"
			bad := bytes.Clone(chunk)
			bad[len(bad)/2] ^= 1
			r := apply(t, c, uint32(i), bad, "liar")
			if r.Result != abci.ResponseApplySnapshotChunk_RETRY || len(r.RefetchChunks) != 1 || r.RefetchChunks[0] != 1 ||
				len(r.RejectSenders) != 1 || r.RejectSenders[0] != "liar" {
				t.Fatalf("an altered chunk was answered %+v, want RETRY refetching it and rejecting its sender", r)
			}
		}
		if r := apply(t, c, uint32(i), chunk, "honest"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %+v", i, r)
		}
	}
	info, _ := c.Info(bg, &abci.RequestInfo{})
	if info.LastBlockHeight != 3 || !bytes.Equal(info.LastBlockAppHash, at3) {
		t.Fatalf("restored app reports height %d app hash %X, want 3 %X", info.LastBlockHeight, info.LastBlockAppHash, at3)
	}
	for _, p := range people {
		if identity.Get(st.Committed(), p.ID) == nil {
			t.Fatalf("identity %s not served after state sync", p.ID)
		}
	}

	// The restored node executes blocks 4 and 5 exactly as the node it came from did.
	hc := &harness{t: t, st: st, app: c, height: 3, reg: reg, seqs: map[string]uint64{}}
	hc.block()
	hc.block()
	if x, y := a.st.LastCommit().AppHash, st.LastCommit().AppHash; !bytes.Equal(x, y) {
		t.Fatalf("after two blocks: %X on the source, %X on the restored node", x, y)
	}
	if got := offer(t, c, sa, at3); got != abci.ResponseOfferSnapshot_ABORT {
		t.Fatalf("a node with state accepted a snapshot: %v", got)
	}
}

// TestStateSyncRefusesWrongSnapshots: a snapshot that does not restore to the trusted app
// hash is rejected and leaves the node empty; malformed offers are refused up front.
func TestStateSyncRefusesWrongSnapshots(t *testing.T) {
	reg := newKS(t, "registrar")
	people := []*keys.Keystore{newKS(t, "dr"), newKS(t, "p1"), newKS(t, "p2")}
	a, at3 := snapChain(t, reg, people)
	s := listed(t, a.app, 3)
	cs := chunks(t, a.app, s)
	c, st := emptyApp(t)

	wrong := bytes.Clone(at3)
	wrong[0] ^= 1
	if got := offer(t, c, s, wrong); got != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", got)
	}
	var last *abci.ResponseApplySnapshotChunk
	for i, chunk := range cs {
		last = apply(t, c, uint32(i), chunk, "peer")
	}
	if last.Result != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
		t.Fatalf("a snapshot restoring to another app hash than the trusted one: %v", last.Result)
	}
	if st.LastCommit().Height != 0 {
		t.Fatal("a rejected snapshot left state behind")
	}

	bad := func(edit func(*abci.Snapshot)) *abci.Snapshot {
		x := *s
		x.Metadata, x.Hash = bytes.Clone(s.Metadata), bytes.Clone(s.Hash)
		edit(&x)
		return &x
	}
	for name, tc := range map[string]struct {
		s    *abci.Snapshot
		want abci.ResponseOfferSnapshot_Result
	}{
		"other format":         {bad(func(x *abci.Snapshot) { x.Format = snapshot.Format + 1 }), abci.ResponseOfferSnapshot_REJECT_FORMAT},
		"hash not of metadata": {bad(func(x *abci.Snapshot) { x.Hash[0] ^= 1 }), abci.ResponseOfferSnapshot_REJECT},
		"chunk count":          {bad(func(x *abci.Snapshot) { x.Chunks++ }), abci.ResponseOfferSnapshot_REJECT},
		"no snapshot":          {nil, abci.ResponseOfferSnapshot_REJECT},
	} {
		if got := offer(t, c, tc.s, at3); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	if got := offer(t, c, s, at3[:16]); got != abci.ResponseOfferSnapshot_REJECT {
		t.Errorf("short trusted app hash: %v", got)
	}

	// The honest attempt after all that succeeds.
	if got := offer(t, c, s, at3); got != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", got)
	}
	for i, chunk := range cs {
		last = apply(t, c, uint32(i), chunk, "peer")
	}
	if last.Result != abci.ResponseApplySnapshotChunk_ACCEPT || st.LastCommit().Height != 3 {
		t.Fatalf("honest restore: %v at height %d", last.Result, st.LastCommit().Height)
	}
}
