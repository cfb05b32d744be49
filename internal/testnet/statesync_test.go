package testnet

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// snapshotAt reports the height of the newest complete snapshot in a node's home (0: none).
func snapshotAt(home string) int64 {
	dir := filepath.Join(node.Paths{Home: home}.AppDir(), "snapshots")
	ents, _ := os.ReadDir(dir)
	var best int64
	for _, e := range ents {
		h, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "snapshot.json")); err == nil && h > best {
			best = h
		}
	}
	return best
}

// TestStateSyncJoin: two validators hold a patient with an inline record and a blob record
// and write snapshots every 5 blocks. A third node, laid out with `add-node --state-sync`,
// comes up from a snapshot (its block store starts after the snapshot height: nothing was
// replayed), reaches the validators' app hash, and serves the identities and both records,
// the blob one once it has replicated the ciphertext from its peers.
func TestStateSyncJoin(t *testing.T) {
	nw := newNetworkWith(t, 2, func(dir string, m *Manifest) {
		for i := range m.Nodes {
			p := node.Paths{Home: m.HomeOf(dir, i)}
			c, err := node.LoadConfig(p.Home)
			if err != nil {
				t.Fatal(err)
			}
			// Every 5 blocks, kept long enough to outlast the joiner's discovery and light
			// client checks (a snapshot pruned in the meantime cannot be fetched).
			c.SnapshotInterval, c.SnapshotKeep = 5, 50
			if err := c.Save(p.Config()); err != nil {
				t.Fatal(err)
			}
		}
	})
	cast := nodetest.RegisterCast(t, nw.ctx, nw.client(0), nw.reg)
	small := []byte("BP 120/80, no complaints")
	inline, err := nw.client(0).PutRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: small})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 200<<10)
	rand.Read(big)
	blob, err := nw.client(0).PutRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: big})
	if err != nil {
		t.Fatal(err)
	}
	if inline.Blob || !blob.Blob {
		t.Fatalf("inline record stored as blob: %v, blob record as blob: %v", inline.Blob, blob.Blob)
	}
	waitFor(t, 60*time.Second, "a snapshot covering both records on both validators", func() bool {
		return snapshotAt(nw.m.HomeOf(nw.dir, 0)) >= blob.Height && snapshotAt(nw.m.HomeOf(nw.dir, 1)) >= blob.Height
	})

	if _, err := AddNode(nw.dir, "Hospital 3", freePorts(t)); err != nil {
		t.Fatal(err)
	}
	ss, err := EnableStateSync(nw.ctx, nw.dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.RPCServers) != 2 || ss.TrustHeight < blob.Height || len(ss.TrustHash) != 64 {
		t.Fatalf("state sync settings %+v", ss)
	}
	nw.reload()
	if _, err := StartAttached(nw.dir, binary, []int{2}); err != nil {
		t.Fatal(err)
	}
	tip := nw.waitHeight(0, ss.TrustHeight+1, 30*time.Second)
	nw.waitHeight(2, tip, 120*time.Second)

	logb, _ := os.ReadFile(nw.m.LogPath(nw.dir, 2))
	if !strings.Contains(string(logb), "state sync: restored height") {
		t.Fatalf("node2 did not restore a snapshot; log:\n%s", tail(string(logb), 3000))
	}
	one := int64(1)
	if _, err := nw.rpc(2).Block(nw.ctx, &one); err == nil {
		t.Fatal("node2 holds block 1: it replayed the chain instead of state-syncing")
	}
	if a, b := nw.appHashAt(0, tip), nw.appHashAt(2, tip); a != b {
		t.Fatalf("app hash of height %d: %s on node0, %s on the state-synced node", tip, a, b)
	}

	for _, id := range []string{cast.Patient.ID, cast.Provider.ID, cast.Auditor.ID} {
		if _, err := nw.client(2).Identity(nw.ctx, id, false); err != nil {
			t.Fatalf("identity %s through the state-synced node: %v", id, err)
		}
	}
	r, err := nw.client(2).ReadRecord(nw.ctx, cast.Patient, cast.Patient.ID, inline.RecordID, "treatment")
	if err != nil || !bytes.Equal(r.Plaintext, small) {
		t.Fatalf("inline record through the state-synced node: %v", err)
	}
	waitFor(t, 30*time.Second, "node2 to replicate the blob", func() bool { return held(nw.m.HomeOf(nw.dir, 2), blob.Digest) })
	r, err = nw.client(2).ReadRecord(nw.ctx, cast.Patient, cast.Patient.ID, blob.RecordID, "treatment")
	if err != nil || !bytes.Equal(r.Plaintext, big) {
		t.Fatalf("blob record through the state-synced node: %v", err)
	}

	// It keeps up: a write after the sync commits on it too.
	id, h := nw.register(0)
	nw.waitHeight(2, h, 30*time.Second)
	if _, err := nw.client(2).Identity(nw.ctx, id, false); err != nil {
		t.Fatalf("identity registered after the sync: %v", err)
	}
}
