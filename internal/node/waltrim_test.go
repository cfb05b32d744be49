package node_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// walFilesHolding lists the consensus WAL files of home that contain needle.
func walFilesHolding(t *testing.T, home string, needle []byte) (holding []string, all int) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(home, "data", "cs.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(home, "data", "cs.wal", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, needle) {
			holding = append(holding, e.Name())
		}
	}
	return holding, len(ents)
}

// waitHeight waits until the node has committed a block above h.
func waitHeight(t *testing.T, r *nodetest.Running, h int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for r.Node.HeightForTest() <= h {
		if time.Now().After(deadline) {
			t.Fatalf("no block above height %d within a minute", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r.Node.HeightForTest()
}

// TestWALTrimmerReachesTheGroup: the trimmer finds the consensus WAL CometBFT keeps private
// (a CometBFT upgrade that moves it fails here), a write transaction's bytes leave the WAL
// after the trimmer has run past its height, and the node still recovers from its trimmed
// WAL when it restarts.
func TestWALTrimmerReachesTheGroup(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	head, err := r.Node.WALHeadForTest()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "data", "cs.wal", "wal"); head != want {
		t.Fatalf("the trimmer reaches the WAL at %q, want %q", head, want)
	}
	ctx := context.Background()
	cast := nodetest.RegisterCast(t, ctx, r.Client, reg)
	body, err := r.Client.SealRecord(ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Observation", ContentType: "text/plain", Plaintext: []byte("a note only the WAL should still hold")})
	if err != nil {
		t.Fatal(err)
	}
	wrote, err := r.Client.Send(ctx, cast.Provider, body)
	if err != nil {
		t.Fatal(err)
	}
	ct := body.Ciphertext
	if f, _ := walFilesHolding(t, home, ct); len(f) == 0 {
		waitHeight(t, r, wrote.Height+1) // the WAL is flushed every two seconds
		deadline := time.Now().Add(time.Minute)
		for f, _ = walFilesHolding(t, home, ct); len(f) == 0; f, _ = walFilesHolding(t, home, ct) {
			if time.Now().After(deadline) {
				t.Fatal("the write is in no WAL file: the search shows nothing")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	trim := r.Node.WALTrimmerForTest()
	h := wrote.Height
	for i := 0; i < 4; i++ { // first sight of consensus, then three rotations
		h = waitHeight(t, r, h)
		trim()
	}
	if f, n := walFilesHolding(t, home, ct); len(f) > 0 || n > 2 {
		t.Fatalf("after trimming, the write is in WAL files %v (of %d files)", f, n)
	}
	r.Stop()

	// Crash recovery reads the trimmed WAL: the node starts and goes on committing.
	r = nodetest.Start(t, home)
	waitHeight(t, r, r.Node.HeightForTest())
}
