package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// TestProveEveryEvent proves every event of the story from the stopped node's home and
// checks each proof offline, after a trip through its JSON file form.
func TestProveEveryEvent(t *testing.T) {
	c := storyChain(t)
	home := c.copyHome(t)
	rep, err := Verify(home, Options{NoReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < rep.Events; i++ {
		p, err := Prove(home, i, ProveOptions{})
		if err != nil {
			t.Fatalf("prove event %d: %v", i, err)
		}
		if p.Height != rep.Head-1 || p.LogSize != rep.Events {
			t.Fatalf("event %d proven at height %d with %d events, want the latest provable height %d with %d", i, p.Height, p.LogSize, rep.Head-1, rep.Events)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Proof
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		ev, err := VerifyProof(&back, p.BlockHash)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		want, _ := audit.Decode(p.Event)
		want.Index = i
		if *ev != *want {
			t.Fatalf("event %d decoded as %+v, want %+v", i, ev, want)
		}
	}
}

func TestProveRefusesWhatNoHeaderCovers(t *testing.T) {
	c := storyChain(t)
	home := c.copyHome(t)
	rep, err := Verify(home, Options{NoReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Events - 1
	// The state of the last height is in no header yet: the next block would carry it.
	if _, err := Prove(home, last, ProveOptions{Height: rep.Head}); !errors.Is(err, ErrNotYet) {
		t.Fatalf("proof at the head height: %v", err)
	}
	p, err := Prove(home, last, ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := audit.Decode(p.Event)
	if _, err := Prove(home, last, ProveOptions{Height: ev.Height - 1}); err == nil {
		t.Fatal("proved an event in the state before it was committed")
	}
	if _, err := Prove(home, rep.Events, ProveOptions{}); err == nil {
		t.Fatal("proved an event that does not exist")
	}
	// An older height works while it still covers the event.
	p, err = Prove(home, last, ProveOptions{Height: ev.Height})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProof(p, p.BlockHash); err != nil || p.Height != ev.Height {
		t.Fatalf("proof at height %d: %v", p.Height, err)
	}
}

// TestProveLiveView proves an event from a running node's committed view, as an API handler
// would: the header of the next block carries the view's app hash. The offline tools refuse
// the running node's home.
func TestProveLiveView(t *testing.T) {
	c := storyChain(t)
	home := c.copyHome(t)
	n := nodetest.Start(t, home)
	if _, err := Verify(home, Options{}); err == nil || !strings.Contains(err.Error(), "already in use by a running node") {
		t.Fatalf("verify on a running node's home: %v", err)
	}
	if _, err := Prove(home, 1, ProveOptions{}); err == nil || !strings.Contains(err.Error(), "already in use by a running node") {
		t.Fatalf("prove on a running node's home: %v", err)
	}
	v := n.Node.View()
	deadline := time.Now().Add(30 * time.Second)
	next := n.Node.BlockHeader(v.Height() + 1)
	for ; next == nil && time.Now().Before(deadline); next = n.Node.BlockHeader(v.Height() + 1) {
		time.Sleep(50 * time.Millisecond)
	}
	if next == nil {
		t.Fatal("the node made no block after its committed view")
	}
	p, err := ProveView(n.Node.ChainID(), v, next, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProof(p, next.Hash()); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyProofRejects corrupts a valid proof one field, one bit at a time, in the manner
// of transparency-dev/merkle's proof tests, and asserts that every probe is rejected with the
// expected kind of error.
func TestVerifyProofRejects(t *testing.T) {
	c := storyChain(t)
	home := c.copyHome(t)
	rep, err := Verify(home, Options{NoReplay: true})
	if err != nil {
		t.Fatal(err)
	}
	// A middle event, so its inclusion path has nodes on both sides.
	p, err := Prove(home, rep.Events/2, ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trusted := []byte(p.BlockHash)
	if _, err := VerifyProof(p, trusted); err != nil {
		t.Fatal(err)
	}
	if len(p.Inclusion) < 2 {
		t.Fatalf("inclusion path of %d nodes is too short to test", len(p.Inclusion))
	}
	// The same event proven at the height that committed it, when the log was shorter.
	ev, _ := audit.Decode(p.Event)
	older, err := Prove(home, rep.Events/2, ProveOptions{Height: ev.Height})
	if err != nil {
		t.Fatal(err)
	}
	if older.LogSize == p.LogSize || older.Height == p.Height {
		t.Fatalf("the story appends no event after height %d", ev.Height)
	}

	type probe struct {
		desc    string
		mutate  func(q *Proof)
		trusted []byte // nil: the valid trusted hash
		kind    error
	}
	var probes []probe
	add := func(kind error, desc string, mutate func(q *Proof)) {
		probes = append(probes, probe{desc: desc, mutate: mutate, kind: kind})
	}
	// Every bit of every byte string the proof carries.
	flipAll := func(kind error, name string, field func(q *Proof) []byte) {
		for i := range field(p) {
			for bit := 0; bit < 8; bit++ {
				add(kind, fmt.Sprintf("%s byte %d bit %d", name, i, bit), func(q *Proof) { field(q)[i] ^= 1 << bit })
			}
		}
	}
	for n := range p.Inclusion {
		flipAll(ErrInclusion, fmt.Sprintf("inclusion[%d]", n), func(q *Proof) []byte { return q.Inclusion[n] })
	}
	flipAll(ErrInclusion, "event", func(q *Proof) []byte { return q.Event })
	flipAll(ErrAppHash, "log root", func(q *Proof) []byte { return q.LogRoot })
	flipAll(ErrAppHash, "map root", func(q *Proof) []byte { return q.MapRoot })
	flipAll(ErrHeader, "app hash", func(q *Proof) []byte { return q.AppHash })
	flipAll(ErrHeader, "block hash", func(q *Proof) []byte { return q.BlockHash })
	for i := range p.Header {
		for bit := 0; bit < 8; bit++ {
			probes = append(probes, probe{desc: fmt.Sprintf("header byte %d bit %d", i, bit),
				mutate: func(q *Proof) { q.Header[i] ^= 1 << bit }, kind: errors.Join(ErrUntrusted, ErrMalformed)})
		}
	}
	// Wrong index, log size, height.
	for _, idx := range []uint64{p.Index - 1, p.Index + 1, p.Index ^ 2, p.LogSize, 1 << 40} {
		add(ErrInclusion, fmt.Sprintf("index %d", idx), func(q *Proof) { q.Index = idx })
	}
	for _, size := range []uint64{p.LogSize - 1, p.LogSize + 1, p.LogSize * 2, p.LogSize / 2, 0} {
		add(ErrAppHash, fmt.Sprintf("log size %d", size), func(q *Proof) { q.LogSize = size })
	}
	for _, h := range []int64{p.Height - 1, p.Height + 1, 0} {
		add(ErrHeader, fmt.Sprintf("height %d", h), func(q *Proof) { q.Height = h })
	}
	add(ErrHeader, "chain id", func(q *Proof) { q.ChainID = "other-chain" })
	add(ErrMalformed, "format", func(q *Proof) { q.Format = "ehrchain/event-proof/v0" })
	// Paths with a node removed, added or reordered.
	add(ErrInclusion, "last node removed", func(q *Proof) { q.Inclusion = q.Inclusion[:len(q.Inclusion)-1] })
	add(ErrInclusion, "node appended", func(q *Proof) { q.Inclusion = append(q.Inclusion, q.LogRoot) })
	add(ErrInclusion, "node prepended", func(q *Proof) { q.Inclusion = append([]cmtbytes.HexBytes{q.LogRoot}, q.Inclusion...) })
	add(ErrInclusion, "nodes swapped", func(q *Proof) { q.Inclusion[0], q.Inclusion[1] = q.Inclusion[1], q.Inclusion[0] })
	add(ErrInclusion, "empty node appended", func(q *Proof) { q.Inclusion = append(q.Inclusion, cmtbytes.HexBytes{}) })
	// A different root, the older proof's roots, an app hash recomputed to match new roots.
	add(ErrAppHash, "older log root", func(q *Proof) { q.LogRoot = older.LogRoot })
	add(ErrHeader, "older roots and app hash", func(q *Proof) {
		q.LogRoot, q.MapRoot, q.LogSize, q.AppHash = older.LogRoot, older.MapRoot, older.LogSize, older.AppHash
	})
	add(ErrUntrusted, "older header", func(q *Proof) { q.Header = older.Header })
	add(ErrMalformed, "short map root", func(q *Proof) { q.MapRoot = q.MapRoot[:31] })
	// Every field of the header, changed and re-encoded canonically.
	for _, f := range headerFields() {
		add(errors.Join(ErrUntrusted, ErrMalformed), "header field "+f.name, func(q *Proof) {
			var h cmtproto.Header
			if err := h.Unmarshal(q.Header); err != nil {
				t.Fatal(err)
			}
			f.change(&h)
			b, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			q.Header = b
		})
	}
	// Wrong trusted hashes.
	for i := range trusted {
		for bit := 0; bit < 8; bit++ {
			wrong := bytes.Clone(trusted)
			wrong[i] ^= 1 << bit
			probes = append(probes, probe{desc: fmt.Sprintf("trusted hash byte %d bit %d", i, bit), mutate: func(*Proof) {}, trusted: wrong, kind: ErrUntrusted})
		}
	}
	probes = append(probes,
		probe{desc: "trusted hash of an earlier block", mutate: func(*Proof) {}, trusted: older.BlockHash, kind: ErrUntrusted},
		probe{desc: "short trusted hash", mutate: func(*Proof) {}, trusted: trusted[:20], kind: ErrMalformed})

	for _, pr := range probes {
		q := cloneProof(p)
		pr.mutate(q)
		tr := trusted
		if pr.trusted != nil {
			tr = pr.trusted
		}
		ev, err := VerifyProof(q, tr)
		if err == nil {
			t.Errorf("%s: accepted (event %+v)", pr.desc, ev)
			continue
		}
		var pe *ProofError
		if !errors.As(err, &pe) || !matchesKind(err, pr.kind) {
			t.Errorf("%s: %v, want %v", pr.desc, err, pr.kind)
		}
	}
	if _, err := VerifyProof(p, trusted); err != nil {
		t.Fatalf("the probes changed the original proof: %v", err)
	}
	if !t.Failed() {
		t.Logf("%d corrupted proofs, all rejected", len(probes))
	}
}

// matchesKind reports whether err is of kind, or of one of the kinds joined in kind.
func matchesKind(err, kind error) bool {
	if j, ok := kind.(interface{ Unwrap() []error }); ok {
		for _, k := range j.Unwrap() {
			if errors.Is(err, k) {
				return true
			}
		}
		return false
	}
	return errors.Is(err, kind)
}

func cloneProof(p *Proof) *Proof {
	q := *p
	q.Event, q.Header = bytes.Clone(p.Event), bytes.Clone(p.Header)
	q.LogRoot, q.MapRoot = bytes.Clone(p.LogRoot), bytes.Clone(p.MapRoot)
	q.AppHash, q.BlockHash = bytes.Clone(p.AppHash), bytes.Clone(p.BlockHash)
	q.Inclusion = nil
	for _, n := range p.Inclusion {
		q.Inclusion = append(q.Inclusion, bytes.Clone(n))
	}
	return &q
}

type headerField struct {
	name   string
	change func(h *cmtproto.Header)
}

func headerFields() []headerField {
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[0] ^= 1; return b }
	return []headerField{
		{"version.block", func(h *cmtproto.Header) { h.Version.Block++ }},
		{"version.app", func(h *cmtproto.Header) { h.Version.App++ }},
		{"chain_id", func(h *cmtproto.Header) { h.ChainID += "x" }},
		{"height", func(h *cmtproto.Header) { h.Height++ }},
		{"time", func(h *cmtproto.Header) { h.Time = h.Time.Add(time.Nanosecond) }},
		{"last_block_id.hash", func(h *cmtproto.Header) { h.LastBlockId.Hash = flip(h.LastBlockId.Hash) }},
		{"last_block_id.parts", func(h *cmtproto.Header) { h.LastBlockId.PartSetHeader.Total++ }},
		{"last_commit_hash", func(h *cmtproto.Header) { h.LastCommitHash = flip(h.LastCommitHash) }},
		{"data_hash", func(h *cmtproto.Header) { h.DataHash = flip(h.DataHash) }},
		{"validators_hash", func(h *cmtproto.Header) { h.ValidatorsHash = flip(h.ValidatorsHash) }},
		{"next_validators_hash", func(h *cmtproto.Header) { h.NextValidatorsHash = flip(h.NextValidatorsHash) }},
		{"consensus_hash", func(h *cmtproto.Header) { h.ConsensusHash = flip(h.ConsensusHash) }},
		{"app_hash", func(h *cmtproto.Header) { h.AppHash = flip(h.AppHash) }},
		{"last_results_hash", func(h *cmtproto.Header) { h.LastResultsHash = flip(h.LastResultsHash) }},
		{"evidence_hash", func(h *cmtproto.Header) { h.EvidenceHash = flip(h.EvidenceHash) }},
		{"proposer_address", func(h *cmtproto.Header) { h.ProposerAddress = flip(h.ProposerAddress) }},
	}
}
