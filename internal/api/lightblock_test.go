package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestLightBlocks: a node serves its own light blocks to anyone. Each decodes, is of the
// node's chain and height, and is the block the next one builds on (its hash is the next
// header's LastBlockID) with a commit that signs it; a height not made yet is 404, one the
// node pruned is 410 with its own code, a malformed height 400.
func TestLightBlocks(t *testing.T) {
	home, _ := nodetest.Init(t)
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SnapshotInterval, cfg.SnapshotKeep = 3, 1
	cfg.Pruning = &node.PruningConfig{KeepBlocks: 3}
	if err := cfg.Save(node.Paths{Home: home}.Config()); err != nil {
		t.Fatal(err)
	}
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.Client

	// The node prunes once a snapshot covers blocks: wait for its base to rise.
	for r.Node.BlockBase() < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("the node never pruned (base %d)", r.Node.BlockBase())
		case <-time.After(50 * time.Millisecond):
		}
	}

	latest, err := c.LightBlock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if latest.ChainID != r.Node.ChainID() || latest.Latest < latest.Height || latest.Base < 3 {
		t.Fatalf("latest: chain %q height %d, base %d, latest %d", latest.ChainID, latest.Height, latest.Base, latest.Latest)
	}
	h := latest.Base
	this, err := c.LightBlock(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	next, err := c.LightBlock(ctx, h+1)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := interchain.ParseLightBlock(this.LightBlock)
	if err != nil {
		t.Fatal(err)
	}
	nlb, err := interchain.ParseLightBlock(next.LightBlock)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case lb.Height != h || this.Height != h:
		t.Fatalf("asked for %d, got %d (envelope %d)", h, lb.Height, this.Height)
	case !bytes.Equal(lb.Hash(), this.Hash):
		t.Fatalf("envelope hash %X, header hash %X", this.Hash, lb.Hash())
	case !bytes.Equal(nlb.LastBlockID.Hash, lb.Hash()):
		t.Fatalf("block %d builds on %X, not on block %d's hash %X", h+1, nlb.LastBlockID.Hash, h, lb.Hash())
	case !bytes.Equal(lb.Commit.BlockID.Hash, lb.Hash()):
		t.Fatalf("the commit signs %X, not the header %X", lb.Commit.BlockID.Hash, lb.Hash())
	}
	if err := lb.ValidatorSet.VerifyCommitLight(lb.ChainID, lb.Commit.BlockID, lb.Height, lb.Commit); err != nil {
		t.Fatalf("the served commit does not verify against the served validators: %v", err)
	}

	for _, tc := range []struct {
		name   string
		height int64
		status int
		code   uint32
	}{
		{"pruned", 1, http.StatusGone, wire.CodePruned},
		{"future", latest.Latest + 1000, http.StatusNotFound, wire.CodeNotFound},
	} {
		_, err := c.LightBlock(ctx, tc.height)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != tc.status || ce.Codespace != string(wire.Space) || ce.Code != tc.code {
			t.Fatalf("%s height %d: want %d api/%d, got %v", tc.name, tc.height, tc.status, tc.code, err)
		}
	}
	for _, bad := range []string{"0", "-1", "x", "1.5"} {
		resp, err := http.Get(c.Base + "/v1/lightblocks/" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("height %q: %d", bad, resp.StatusCode)
		}
	}
}
