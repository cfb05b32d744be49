package testnet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
)

func setSources(t *testing.T, home string, sources ...string) {
	t.Helper()
	c, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	c.BlobSources = sources
	if err := c.Save(node.Paths{Home: home}.Config()); err != nil {
		t.Fatal(err)
	}
}

// TestBlobReplication: a large record's ciphertext is uploaded to node0 only. node2, whose
// sources are first a lying peer (serving wrong bytes) and node1 (which lacks it too),
// reports the record unavailable, never wrong; once node0 is among its sources it fetches the
// blob, checks the digest, and serves the record. Blobs are served only to signed requests of
// peer nodes.
func TestBlobReplication(t *testing.T) {
	var liarHits atomic.Int64
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		liarHits.Add(1)
		w.Write(bytes.Repeat([]byte("forged ciphertext "), 8000))
	}))
	defer liar.Close()
	nw := newNetworkWith(t, 3, func(dir string, m *Manifest) {
		setSources(t, m.HomeOf(dir, 1), "http://"+m.Nodes[2].API)
		setSources(t, m.HomeOf(dir, 2), liar.URL, "http://"+m.Nodes[1].API)
	})
	cast := nodetest.RegisterCast(t, nw.ctx, nw.client(0), nw.reg)
	plain := make([]byte, 200<<10)
	rand.Read(plain)
	m, err := nw.client(0).PutRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: plain})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Blob {
		t.Fatalf("a %d-byte record was not stored as a blob", len(plain))
	}
	nw.waitHeight(2, m.Height, 30*time.Second)

	// Unavailable, not wrong: node2 knows the record but not its bytes.
	waitFor(t, 20*time.Second, "node2 to notice the missing blob and try the lying peer", func() bool {
		s, err := nw.client(2).Status(nw.ctx)
		return err == nil && s.BlobsMissing == 1 && liarHits.Load() > 0
	})
	_, err = nw.client(2).ReadRecord(nw.ctx, cast.Patient, cast.Patient.ID, m.RecordID, "treatment")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
		t.Fatalf("read through node2 before replication: %v, want 503 unavailable", err)
	}
	if held(nw.m.HomeOf(nw.dir, 2), m.Digest) {
		t.Fatal("node2 stored the lying peer's bytes")
	}

	// A holder among its sources: node2 replicates and serves the record.
	setSources(t, nw.m.HomeOf(nw.dir, 2), liar.URL, "http://"+nw.m.Nodes[0].API)
	waitFor(t, 20*time.Second, "node2 to replicate the blob", func() bool { return held(nw.m.HomeOf(nw.dir, 2), m.Digest) })
	r, err := nw.client(2).ReadRecord(nw.ctx, cast.Patient, cast.Patient.ID, m.RecordID, "treatment")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Plaintext, plain) {
		t.Fatal("the replicated record decrypts to other bytes")
	}

	// Fetching from node0 directly: unsigned, or signed by a node that is not its peer, is
	// refused; signed by node1's key (a peer) it is served.
	url := "http://" + nw.m.Nodes[0].API + "/v1/blobs/" + hex.EncodeToString(m.Digest[:])
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned blob fetch: %v %v", resp, err)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	if err := fetchAs(nw, stranger, m.Digest); err == nil {
		t.Fatal("a node that is not a peer fetched a blob")
	}
	nk := loadNodeKey(t, nw.m.HomeOf(nw.dir, 1))
	if err := fetchAs(nw, nk, m.Digest); err != nil {
		t.Fatalf("a peer's signed fetch: %v", err)
	}
}

func fetchAs(nw *network, key ed25519.PrivateKey, d [32]byte) error {
	dir := nw.t.TempDir()
	st, err := blobs.Open(dir)
	if err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	id := nodeIDOf(pub)
	sg := blobs.Signer{ChainID: nw.m.ChainID, NodeID: id, PubKey: pub,
		Sign: func(msg []byte) ([]byte, error) { return ed25519.Sign(key, msg), nil }}
	return st.Fetch(nw.ctx, http.DefaultClient, []string{"http://" + nw.m.Nodes[0].API}, sg, d, records.MaxBlob)
}

func held(home string, d [32]byte) bool {
	h := hex.EncodeToString(d[:])
	_, err := os.Stat(filepath.Join(home, "app", "blobs", h[:2], h))
	return err == nil
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
