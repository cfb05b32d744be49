package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/records"
)

// waitMissing waits until n reports want committed blobs it does not hold.
func waitMissing(t *testing.T, ctx context.Context, n *node.Node, want int) {
	t.Helper()
	for n.BlobsMissing() != want {
		select {
		case <-ctx.Done():
			t.Fatalf("blobs missing: %d, want %d", n.BlobsMissing(), want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A blob record committed while its bytes are nowhere: the replicator learns of it from the
// block's published references, and again from the log after a restart (its catch-up),
// so the record stays "missing" rather than silently forgotten.
func TestReplicatorFollowsCommitsAndCatchesUpAfterRestart(t *testing.T) {
	home, _ := initHome(t)
	r := start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	chainID, err := r.cl.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := keys.NewKeystore("carol")
	if _, err := r.cl.Send(ctx, pat, client.RegistrationFor(chainID, pat, identity.Patient, "Carol", "", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.cl.PublishCategories(ctx, pat, []string{"general"}); err != nil {
		t.Fatal(err)
	}
	cks, err := r.cl.CategoryKeys(ctx, pat.ID)
	if err != nil || len(cks) != 1 {
		t.Fatalf("category keys %v: %v", cks, err)
	}
	body, _, err := client.SealFor(pat, 1, cks[0], client.NewRecord{ID: "r-scan", Version: 1, Patient: pat.ID,
		Category: "general", ResourceType: "Media", ContentType: "image/png", Plaintext: make([]byte, records.InlineMax+1)})
	if err != nil || !body.Meta.Blob {
		t.Fatalf("sealed %v blob=%v", err, body != nil && body.Meta.Blob)
	}
	waitMissing(t, ctx, r.n, 0)
	if res, err := r.cl.Send(ctx, pat, body); err != nil || res.Code != 0 { // the blob is never uploaded
		t.Fatalf("blob record: %+v %v", res, err)
	}
	waitMissing(t, ctx, r.n, 1)
	r.stop()

	r = start(t, home)
	defer r.stop()
	waitMissing(t, ctx, r.n, 1)
}
