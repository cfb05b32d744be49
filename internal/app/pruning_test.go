package app

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/snapshot"
)

func TestRetainHeight(t *testing.T) {
	for _, c := range []struct {
		head, keep int64
		snap       uint64
		durable    int64
		want       int64
	}{
		{head: 100, keep: 0, snap: 90, durable: 100, want: 0},   // pruning off
		{head: 100, keep: 10, snap: 0, durable: 100, want: 0},   // no snapshot yet: nothing goes
		{head: 100, keep: 10, snap: 50, durable: 100, want: 50}, // the snapshot bounds it
		{head: 100, keep: 10, snap: 95, durable: 100, want: 91}, // keep_blocks bounds it
		{head: 100, keep: 10, snap: 91, durable: 100, want: 91},
		{head: 5, keep: 10, snap: 5, durable: 5, want: 0}, // fewer blocks than kept
		{head: 10, keep: 10, snap: 10, durable: 10, want: 0},
		{head: 11, keep: 10, snap: 10, durable: 11, want: 2},
		{head: 100, keep: 1, snap: 100, durable: 100, want: 100},
		// The blocks a crash would replay stay, whatever the snapshot and keep_blocks allow.
		{head: 100, keep: 1, snap: 100, durable: 60, want: 60},
		{head: 100, keep: 10, snap: 95, durable: 80, want: 80},
		{head: 100, keep: 1, snap: 100, durable: 1, want: 0},
		{head: 100, keep: 1, snap: 100, durable: 0, want: 0},
	} {
		if got := RetainHeight(c.head, c.keep, c.snap, c.durable); got != c.want {
			t.Errorf("RetainHeight(head %d, keep %d, snapshot %d, durable %d) = %d, want %d", c.head, c.keep, c.snap, c.durable, got, c.want)
		}
	}
}

func TestPruningCheck(t *testing.T) {
	for _, c := range []struct {
		p     Pruning
		snaps bool
		err   string
	}{
		{Pruning{}, false, ""},
		{Pruning{KeepBlocks: 1000}, true, ""},
		{Pruning{KeepBlocks: 1000}, false, "needs snapshots"},
		{Pruning{KeepBlocks: -1}, true, "must not be negative"},
		{Pruning{KeepVersions: -5}, true, "must not be negative"},
		{Pruning{KeepVersions: MinKeepVersions - 1}, true, "below"},
		{Pruning{KeepVersions: MinKeepVersions}, false, ""},
	} {
		err := c.p.Check(c.snaps)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v (snapshots %v): %v, want %q", c.p, c.snaps, err, c.err)
		}
	}
}

// commitRetain runs one block through a harness and returns the retain height its Commit
// gave CometBFT.
func commitRetain(h *harness, txs ...[]byte) int64 {
	h.t.Helper()
	h.height++
	bt := genesisTime.Add(time.Duration(h.height) * time.Second)
	h.blocks = append(h.blocks, recordedBlock{txs: txs, time: bt})
	if _, err := h.app.FinalizeBlock(bg, &abci.RequestFinalizeBlock{Height: h.height, Time: bt, Txs: txs}); err != nil {
		h.t.Fatal(err)
	}
	r, err := h.app.Commit(bg, &abci.RequestCommit{})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.RetainHeight
}

// A node that prunes and one that keeps everything, fed the same blocks, commit the same
// app hash at every height; the pruning one keeps only its last state map versions and
// asks CometBFT to drop blocks only below a snapshot it completed.
func TestPruningKeepsAppHash(t *testing.T) {
	reg := newKS(t, "registrar")
	pruned := newHarnessWith(t, reg)
	dir, err := snapshot.Open(filepath.Join(pruned.dir, "snapshots"), 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	pruned.app.ServeSnapshots(dir, 5)
	pruned.app.SetPruning(Pruning{KeepBlocks: 4, KeepVersions: 3}) // below MinKeepVersions: this test has no readers
	full := newHarnessWith(t, reg)

	var people []*keys.Keystore
	for i := range 30 {
		var txs [][]byte
		if i%3 != 2 {
			p := newKS(t, "patient")
			people = append(people, p)
			txs = append(txs, pruned.sign(p, registration(p, identity.Patient, "", "")))
		}
		retain := commitRetain(pruned, txs...)
		full.mustOK(txs...)
		head := pruned.height
		if retain != 0 {
			newest := pruned.app.snaps.newest.Load()
			if retain > int64(newest) || retain > head-3 {
				t.Fatalf("height %d: retain height %d above the newest snapshot %d or the last 4 blocks", head, retain, newest)
			}
		}
		if a, b := pruned.st.LastCommit().AppHash, full.st.LastCommit().AppHash; !bytes.Equal(a, b) {
			t.Fatalf("height %d: app hash %X with pruning, %X without", head, a, b)
		}
		if head >= 5 {
			listed(t, pruned.app, uint64(head-head%5)) // let each due snapshot finish, so retain moves
		}
	}
	if first, _ := pruned.st.FirstVersion(); first != pruned.height-2 {
		t.Fatalf("first kept state map version %d at height %d, want the last 3", first, pruned.height)
	}
	if first, _ := full.st.FirstVersion(); first != 1 {
		t.Fatalf("the unpruned node's first version is %d", first)
	}
	if r := commitRetain(pruned); r != 28 {
		t.Fatalf("retain height at 31 with a snapshot at 30 and 4 blocks kept: %d, want 28", r)
	}
	for _, p := range people {
		if pruned.identity(p.ID) == nil {
			t.Fatalf("identity %s lost after pruning", p.ID)
		}
	}
}
