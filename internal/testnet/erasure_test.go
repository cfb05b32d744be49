package testnet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// filesHolding lists, relative to dir, the files whose bytes contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, needle) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestErasureAcrossTheNetwork: on three validators that prune, a patient erases a large
// record (its ciphertext in every node's blob store) and a small one (its ciphertext inline
// in the write transaction). Once pruning, a new snapshot, a compaction of the block store,
// the shredding of the state database and the trimming of the consensus WAL have passed
// the erasure (each node does all of it by itself), neither ciphertext is in any file of
// any home.
func TestErasureAcrossTheNetwork(t *testing.T) {
	nw := newNetworkWith(t, 3, func(dir string, m *Manifest) {
		for i := range m.Nodes {
			home := m.HomeOf(dir, i)
			c, err := node.LoadConfig(home)
			if err != nil {
				t.Fatal(err)
			}
			c.SnapshotInterval, c.SnapshotKeep = 5, 1
			c.Pruning = &node.PruningConfig{KeepBlocks: 5, KeepVersions: 20}
			if err := c.Save(node.Paths{Home: home}.Config()); err != nil {
				t.Fatal(err)
			}
		}
	})
	c := nw.client(0)
	cast := nodetest.RegisterCast(t, nw.ctx, c, nw.reg)

	large := make([]byte, 200<<10)
	rand.Read(large)
	big, err := c.PutRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: large})
	if err != nil || !big.Blob {
		t.Fatalf("large record: %+v %v", big, err)
	}
	small := make([]byte, 2<<10)
	rand.Read(small)
	body, err := c.SealRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: small})
	if err != nil || body.Meta.Blob {
		t.Fatalf("small record: %v", err)
	}
	wrote, err := c.Send(nw.ctx, cast.Provider, body)
	if err != nil {
		t.Fatal(err)
	}
	inline := body.Ciphertext
	var blobCT []byte
	waitFor(t, 60*time.Second, "every node to hold the large record's blob", func() bool {
		for i := range nw.m.Nodes {
			if !held(nw.m.HomeOf(nw.dir, i), big.Digest) {
				return false
			}
		}
		return true
	})
	blobCT = readBlob(t, nw.m.HomeOf(nw.dir, 0), big.Digest)
	for i := range nw.m.Nodes {
		if len(filesHolding(t, nw.m.HomeOf(nw.dir, i), blobCT[:4096])) == 0 {
			t.Fatalf("node%d: the blob's bytes are not found before erasure: the search itself is broken", i)
		}
	}

	var erasedAt int64
	for _, id := range []string{big.RecordID, body.Meta.RecordID} {
		res, err := c.Send(nw.ctx, cast.Patient, &erasure.EraseBody{Record: id})
		if err != nil {
			t.Fatal(err)
		}
		erasedAt = res.Height
	}
	// Pruning and a snapshot after the erasure on every node: blocks below the erasure gone,
	// and the only snapshot kept taken after it.
	waitFor(t, 2*time.Minute, "every node to prune past the erasure and snapshot after it", func() bool {
		for i := range nw.m.Nodes {
			st, err := nw.rpc(i).Status(nw.ctx)
			if err != nil || st.SyncInfo.EarliestBlockHeight <= erasedAt || snapshotAt(nw.m.HomeOf(nw.dir, i)) <= erasedAt ||
				oldestSnapshot(nw.m.HomeOf(nw.dir, i)) <= erasedAt {
				return false
			}
		}
		return true
	})
	// The block store gives the pruned blocks' space and bytes back when it is compacted:
	// each node does so once pruning has moved its base by keep_blocks.
	waitFor(t, 2*time.Minute, "every node to compact its block store after pruning the write's block", func() bool {
		for i := range nw.m.Nodes {
			if compactedBelow(nw.m.LogPath(nw.dir, i)) <= wrote.Height {
				return false
			}
		}
		return true
	})
	// Each node shreds the erased entries from its state database right after the erasure's
	// block, and trims its consensus WAL each time it compacts the block store: the write's
	// block parts leave the WAL two compactions after it.
	waitFor(t, 2*time.Minute, "every node to shred the erasures and trim its WAL past the write", func() bool {
		for i := range nw.m.Nodes {
			if shreddedAt(nw.m.LogPath(nw.dir, i)) < erasedAt || walTrimmedBelow(nw.m.LogPath(nw.dir, i)) <= wrote.Height {
				return false
			}
		}
		return true
	})
	nw.kill() // files closed: what is on disk is all there is
	for i := range nw.m.Nodes {
		home := nw.m.HomeOf(nw.dir, i)
		if f := filesHolding(t, home, blobCT[:4096]); len(f) > 0 {
			t.Errorf("node%d: the erased blob's ciphertext is still in %v", i, f)
		}
		if held(home, big.Digest) {
			t.Errorf("node%d still holds the erased blob", i)
		}
		if f := filesHolding(t, home, inline); len(f) > 0 {
			t.Errorf("node%d: the erased inline ciphertext is still in %v", i, f)
		}
	}
}

func readBlob(t *testing.T, home string, d [32]byte) []byte {
	t.Helper()
	h := hex.EncodeToString(d[:])
	b, err := os.ReadFile(filepath.Join(home, "app", "blobs", h[:2], h))
	if err != nil || len(b) < 4096 {
		t.Fatalf("blob %s not readable in %s: %v", h, home, err)
	}
	return b
}

var (
	compactedRE = regexp.MustCompile(`block store compacted after pruning below height (\d+)`)
	walTrimRE   = regexp.MustCompile(`consensus WAL trimmed: \d+ older files removed, no block below height (\d+) left in it`)
	shreddedRE  = regexp.MustCompile(`state database: \d+ erased entries of height (\d+) shredded from its files`)
)

// compactedBelow is the highest base a node's log says its block store was compacted at.
func compactedBelow(logPath string) int64 { return highestIn(logPath, compactedRE) }

// walTrimmedBelow is the highest height below which a node's log says its WAL holds no block.
func walTrimmedBelow(logPath string) int64 { return highestIn(logPath, walTrimRE) }

// shreddedAt is the highest erasure height a node's log says it shredded.
func shreddedAt(logPath string) int64 { return highestIn(logPath, shreddedRE) }

// highestIn is the highest number re's first group matches in a node's log (0: none).
func highestIn(logPath string, re *regexp.Regexp) int64 {
	b, _ := os.ReadFile(logPath)
	var best int64
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if h, err := strconv.ParseInt(m[1], 10, 64); err == nil && h > best {
			best = h
		}
	}
	return best
}

// oldestSnapshot is the lowest height of a snapshot directory in home, complete or not
// (0: none).
func oldestSnapshot(home string) int64 {
	ents, _ := os.ReadDir(filepath.Join(node.Paths{Home: home}.AppDir(), "snapshots"))
	var low int64
	for _, e := range ents {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && (low == 0 || h < low) {
			low = h
		}
	}
	return low
}
