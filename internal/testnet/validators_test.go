package testnet

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/validators"
)

// signers are the validator addresses whose commit votes are in the commit of height h.
func (nw *network) signers(i int, h int64) []string {
	nw.t.Helper()
	nw.waitHeight(i, h+1, 30*time.Second)
	c, err := nw.rpc(i).Commit(nw.ctx, &h)
	if err != nil {
		nw.t.Fatal(err)
	}
	var out []string
	for _, s := range c.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			out = append(out, s.ValidatorAddress.String())
		}
	}
	return out
}

// setAt is the consensus validator set of height h as node i's CometBFT sees it.
func (nw *network) setAt(i int, h int64) []string {
	nw.t.Helper()
	nw.waitHeight(i, h, 30*time.Second)
	per := 100
	r, err := nw.rpc(i).Validators(nw.ctx, &h, nil, &per)
	if err != nil {
		nw.t.Fatal(err)
	}
	var out []string
	for _, v := range r.Validators {
		out = append(out, v.Address.String())
	}
	return out
}

// TestValidatorSetChanges: a fifth institution's node joins by block sync as a full node,
// the registrar adds its validator by transaction, and it signs commits; the registrar
// removes another validator, which no longer signs nor counts: with the new one and two
// original validators up (3 of 4), blocks commit; with the removed one still running but
// only two counted validators up, nothing commits.
func TestValidatorSetChanges(t *testing.T) {
	nw := newNetwork(t, 4)
	for range 3 {
		nw.register(0)
	}
	nd, err := AddNode(nw.dir, "Hospital 5", freePorts(t))
	if err != nil {
		t.Fatal(err)
	}
	nw.reload()
	nw.start(4)
	tip, _ := nw.height(0)
	nw.waitHeight(4, tip, 60*time.Second)

	// Only the registrar changes the set.
	if _, err := nw.client(4).Send(nw.ctx, mustKeystore(t), &validators.Set{PubKey: nd.PubKey, Power: 10, Institution: "Hospital 5"}); err == nil {
		t.Fatal("an unregistered signer changed the validator set")
	}
	// Submitted through the new node itself: it relays to the validators.
	res, err := nw.client(4).Send(nw.ctx, nw.reg, &validators.Set{PubKey: nd.PubKey, Power: 10, Institution: "Hospital 5", Name: nd.Name})
	if err != nil {
		t.Fatal(err)
	}
	// Updates returned at height H apply from H+2.
	if got := nw.setAt(0, res.Height+2); !slices.Contains(got, nd.Validator) || len(got) != 5 {
		t.Fatalf("validator set at height %d: %v, want the 4 genesis validators and %s", res.Height+2, got, nd.Validator)
	}
	if !nw.signsSoon(0, res.Height+2, nd.Validator) {
		t.Fatalf("the added validator %s signed no commit in the 20 heights after it joined", nd.Validator)
	}
	nw.waitHeight(2, res.Height, 30*time.Second)
	l, err := nw.client(2).Validators(nw.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := find(l.Validators, nd.Validator); v == nil || v.Institution != "Hospital 5" || v.Power != 10 {
		t.Fatalf("on-chain record of the added validator: %+v", v)
	}

	// Remove node3's validator; its process keeps running as a full node.
	gone := nw.m.Nodes[3].Validator
	res, err = nw.client(0).Send(nw.ctx, nw.reg, &validators.Remove{Address: gone, Reason: "leaves the network"})
	if err != nil {
		t.Fatal(err)
	}
	after := res.Height + 2
	if got := nw.setAt(0, after); slices.Contains(got, gone) || len(got) != 4 {
		t.Fatalf("validator set at height %d after removing %s: %v", after, gone, got)
	}
	for h := after; h < after+3; h++ {
		if slices.Contains(nw.signers(0, h), gone) {
			t.Fatalf("removed validator %s signed the commit of height %d", gone, h)
		}
	}
	// Removing it again is refused with a code.
	if _, err := nw.client(0).Send(nw.ctx, nw.reg, &validators.Remove{Address: gone}); !isCode(err, validators.CodeNotFound) {
		t.Fatalf("second removal: %v", err)
	}

	// 3 of the 4 counted validators up (node0, node1 and the new node4): blocks commit, so
	// the new validator's vote counts.
	nw.kill(2)
	id, h := nw.register(1)
	nw.waitHeight(4, h, 30*time.Second)
	if _, err := nw.client(4).Identity(nw.ctx, id, false); err != nil {
		t.Fatalf("the new node does not serve an identity committed at its height: %v", err)
	}
	// Only node0 and node1 counted (2 of 4) with the removed node3 still running: halt.
	nw.kill(4)
	time.Sleep(1500 * time.Millisecond)
	nw.stalled(3*time.Second, 0, 1)

	// The offline verifier replays the chain, validator changes included, on node3's copy.
	if err := Stop(nw.dir, []int{3}, false, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "--home", nw.m.HomeOf(nw.dir, 3), "verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK:") {
		t.Fatalf("ehrchain verify after validator changes: %v\n%s", err, out)
	}
}

// signsSoon reports whether addr signs one of the commits of heights from..from+19.
func (nw *network) signsSoon(i int, from int64, addr string) bool {
	for h := from; h < from+20; h++ {
		if slices.Contains(nw.signers(i, h), addr) {
			return true
		}
	}
	return false
}

func find(vs []*validators.Validator, addr string) *validators.Validator {
	for _, v := range vs {
		if v.Address == addr {
			return v
		}
	}
	return nil
}

func isCode(err error, code uint32) bool {
	ce, ok := err.(*client.Error)
	return ok && ce.Code == code
}
