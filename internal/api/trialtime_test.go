package api_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials/timeproof"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestTrialReportProvenTime: with ?prove_time=1 the report carries the headers of blocks H
// and H+1; against the hash of block H+1 (read here from the node's block store, as a
// trusted source would give it) they prove the block time the report was judged at, and
// the report verifies against the app hash block H+1 carries. A flipped header byte,
// another block time, another trusted hash, headers of other heights and a report at
// another height each fail.
func TestTrialReportProvenTime(t *testing.T) {
	n := newTrialNode(t)
	n.story()
	rep, err := n.c.TrialReportProvenTime(n.ctx, "GLU-3")
	if err != nil {
		t.Fatal(err)
	}
	if rep.TimeProof == nil {
		t.Fatal("no time proof in the answer")
	}
	next := n.r.Node.BlockHeader(rep.Height + 1)
	if next == nil {
		t.Fatalf("block %d is not stored", rep.Height+1)
	}
	trusted := next.Hash()
	if err := timeproof.Verify(rep.TimeProof, trusted, rep.Height, next.AppHash, rep.BlockTime); err != nil {
		t.Fatalf("the block time does not verify: %v", err)
	}
	if err := rep.Verify(next.AppHash); err != nil {
		t.Fatalf("the report does not verify against block %d's app hash: %v", rep.Height+1, err)
	}
	if h := n.r.Node.BlockHeader(rep.Height); !h.Time.Equal(rep.BlockTime) || !h.Time.Equal(rep.Report.BlockTime) {
		t.Fatalf("block time %s, block %d was made at %s", rep.BlockTime, rep.Height, h.Time)
	}

	older := n.r.Node.BlockHeader(rep.Height - 1)
	otherProof, err := timeproof.New(older, n.r.Node.BlockHeader(rep.Height))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		do   func(r *wire.TrialReport, trusted []byte) error
	}{
		{"a flipped byte in the header", func(r *wire.TrialReport, tr []byte) error {
			r.TimeProof.Header[len(r.TimeProof.Header)/2] ^= 1
			return timeproof.Verify(r.TimeProof, tr, r.Height, next.AppHash, r.BlockTime)
		}},
		{"a flipped byte in the next header", func(r *wire.TrialReport, tr []byte) error {
			r.TimeProof.Next[len(r.TimeProof.Next)/2] ^= 1
			return timeproof.Verify(r.TimeProof, tr, r.Height, next.AppHash, r.BlockTime)
		}},
		{"a block time a second later", func(r *wire.TrialReport, tr []byte) error {
			return timeproof.Verify(r.TimeProof, tr, r.Height, next.AppHash, r.BlockTime.Add(time.Second))
		}},
		{"another trusted hash", func(r *wire.TrialReport, tr []byte) error {
			tr[0] ^= 1
			return timeproof.Verify(r.TimeProof, tr, r.Height, next.AppHash, r.BlockTime)
		}},
		{"another app hash", func(r *wire.TrialReport, tr []byte) error {
			a := append([]byte(nil), next.AppHash...)
			a[0] ^= 1
			return timeproof.Verify(r.TimeProof, tr, r.Height, a, r.BlockTime)
		}},
		{"the headers of the blocks before", func(r *wire.TrialReport, tr []byte) error {
			return timeproof.Verify(otherProof, tr, r.Height, next.AppHash, r.BlockTime)
		}},
		{"a report claiming another height", func(r *wire.TrialReport, tr []byte) error {
			return timeproof.Verify(r.TimeProof, tr, r.Height-1, next.AppHash, r.BlockTime)
		}},
		{"no headers", func(r *wire.TrialReport, tr []byte) error {
			r.TimeProof = nil
			return timeproof.Verify(r.TimeProof, tr, r.Height, next.AppHash, r.BlockTime)
		}},
	} {
		bad := clone(t, rep)
		err := c.do(bad, append([]byte(nil), trusted...))
		if !errors.Is(err, timeproof.ErrBlockTime) {
			t.Errorf("%s: %v", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}

	// Without the parameter, no headers (and no wait); a bad value is refused.
	if plain, err := n.c.TrialReport(n.ctx, "GLU-3"); err != nil || plain.TimeProof != nil {
		t.Fatalf("plain report: %v, time proof %v", err, plain.TimeProof != nil)
	}
	resp, err := http.Get(n.c.Base + "/v1/trials/GLU-3/report?prove_time=yes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("prove_time=yes: %d", resp.StatusCode)
	}
}
