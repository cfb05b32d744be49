package testnet

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// TestCrashFaults runs four validators of four institutions as separate processes and
// crashes them with SIGKILL: one down, the others go on committing and the crashed one
// catches up to the same app hash; two down, nothing commits and the survivors agree; one
// back, commits resume and nothing committed before is lost. Writes on one node are read
// through another once it has committed them.
func TestCrashFaults(t *testing.T) {
	nw := newNetwork(t, 4)
	var acked []string

	// A write through node 0 is readable through node 2 as soon as node 2 has its height.
	id, h := nw.register(0)
	acked = append(acked, id)
	nw.waitHeight(2, h, 30*time.Second)
	if _, err := nw.client(2).Identity(nw.ctx, id, false); err != nil {
		t.Fatalf("identity committed at height %d through node0 is not readable through node2 at its height: %v", h, err)
	}

	// One of four down: the network keeps committing.
	nw.kill(3)
	var last int64
	for range 5 {
		id, h := nw.register(1)
		acked = append(acked, id)
		last = h
	}
	// Back: it catches up by block sync, and its own state hashes to what the others signed.
	nw.start(3)
	nw.waitHeight(3, last, 60*time.Second)
	h3, hash3 := nw.height(3)
	if want := nw.appHashAt(0, h3); hash3 != want {
		t.Fatalf("node3 after catching up: app hash %s at height %d, the validators signed %s", hash3, h3, want)
	}
	for _, id := range acked {
		if _, err := nw.client(3).Identity(nw.ctx, id, false); err != nil {
			t.Fatalf("node3 lacks identity %s committed while it was down: %v", id, err)
		}
	}

	// Two of four down: no quorum. A write is accepted into the mempool but never commits,
	// and the two survivors stay at the same height with the same app hash.
	nw.kill(2, 3)
	time.Sleep(1500 * time.Millisecond) // let a round in flight finish
	pending, err := keys.NewKeystore("p")
	if err != nil {
		t.Fatal(err)
	}
	sendCtx, cancel := context.WithCancel(nw.ctx)
	defer cancel()
	type sendResult struct {
		height int64
		err    error
	}
	sent := make(chan sendResult, 1)
	go func() {
		res, err := nw.client(0).Send(sendCtx, pending, client.RegistrationFor(nw.m.ChainID, pending, identity.Patient, "pending", "", ""))
		if err != nil {
			sent <- sendResult{err: err}
			return
		}
		sent <- sendResult{height: res.Height}
	}()
	hs := nw.stalled(3*time.Second, 0, 1)
	if hs[0] != hs[1] {
		t.Fatalf("survivors at different heights %v with no quorum", hs)
	}
	_, a0 := nw.height(0)
	_, a1 := nw.height(1)
	if a0 != a1 {
		t.Fatalf("survivors diverged at height %d: app hashes %s and %s", hs[0], a0, a1)
	}
	select {
	case r := <-sent:
		t.Fatalf("a write completed without a quorum: height %d, %v", r.height, r.err)
	default:
	}

	// One back: 3 of 4, commits resume, the pending write commits, nothing is lost.
	nw.start(2)
	var committedAt int64
	select {
	case r := <-sent:
		if r.err != nil {
			t.Fatalf("the write pending during the outage failed after recovery: %v", r.err)
		}
		committedAt = r.height
	case <-time.After(60 * time.Second):
		t.Fatal("the write pending during the outage did not commit after a node came back")
	}
	acked = append(acked, pending.ID)
	// Node 0 reported the commit; the others may be a block behind, so each is read only
	// once it has reached that height.
	for _, i := range []int{0, 1, 2} {
		nw.waitHeight(i, committedAt, 30*time.Second)
	}
	for _, i := range []int{0, 1, 2} {
		for _, id := range acked {
			if _, err := nw.client(i).Identity(nw.ctx, id, false); err != nil {
				t.Fatalf("%s lost identity %s: %v", nw.m.Nodes[i].Name, id, err)
			}
		}
	}
	h2, hash2 := nw.height(2)
	if want := nw.appHashAt(1, h2); hash2 != want {
		t.Fatalf("node2 after the outage: app hash %s at height %d, the validators signed %s", hash2, h2, want)
	}
}

// TestAlteredStateRefused stops a validator, edits a registered provider's name inside its
// state database (a value the stored tree hashes would not reveal), and restarts it: the
// node must refuse to start rather than serve the edited record, while the others go on.
func TestAlteredStateRefused(t *testing.T) {
	nw := newNetwork(t, 4)
	prov, err := keys.NewKeystore("dr")
	if err != nil {
		t.Fatal(err)
	}
	res, err := nw.client(0).Send(nw.ctx, nw.reg, client.RegistrationFor(nw.m.ChainID, prov, identity.Provider, "Dr Honest", "St Mary", "MD-1"))
	if err != nil {
		t.Fatal(err)
	}
	nw.waitHeight(3, res.Height, 30*time.Second)
	if err := Stop(nw.dir, []int{3}, false, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	home := nw.m.HomeOf(nw.dir, 3)
	if n := editState(t, home, "Dr Honest", "Dr Hacked"); n == 0 {
		t.Fatal("the provider's name was not found in node3's state database")
	}

	if _, err := StartAttached(nw.dir, binary, []int{3}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for Running(home) || !logHas(nw.m.LogPath(nw.dir, 3), "refusing to start") {
		if r, err := nw.client(3).Identity(nw.ctx, prov.ID, false); err == nil {
			t.Fatalf("the altered node served the provider as %q", r.Identity.Name)
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(nw.m.LogPath(nw.dir, 3))
			t.Fatalf("the node with an altered state database did not refuse to start; log:\n%s", tail(string(b), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !logHas(nw.m.LogPath(nw.dir, 3), "the state database") || !logHas(nw.m.LogPath(nw.dir, 3), "is damaged") {
		b, _ := os.ReadFile(nw.m.LogPath(nw.dir, 3))
		t.Fatalf("refusal does not say the state database is damaged:\n%s", tail(string(b), 2000))
	}
	// The honest three go on and still hold the true record.
	nw.register(1)
	r, err := nw.client(2).Identity(nw.ctx, prov.ID, false)
	if err != nil || r.Identity.Name != "Dr Honest" {
		t.Fatalf("the honest nodes' copy of the provider: %+v, %v", r, err)
	}
}

func logHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return contains(string(b), s)
}
