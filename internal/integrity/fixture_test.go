package integrity

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/store"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// chain is a stopped node's home after a short story, with what the tests need to know
// about it.
type chain struct {
	home    string
	patient string // the patient's identity id
	record  string
	written int64 // the height of the record's write
}

// runStory runs a real node through registrations, category keys, a record write, an
// allowed read and a denied one, lets it make two more blocks so the last event's app hash
// is in a stored header, and stops it.
func runStory(t *testing.T) *chain {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	c := n.Client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	prov, pat, aud := cast.Provider, cast.Patient, cast.Auditor
	m, err := c.PutRecord(ctx, prov, client.NewRecord{Patient: pat.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation","status":"final"}`)})
	must(err)
	_, err = c.ReadRecord(ctx, pat, pat.ID, m.RecordID, consent.Treatment)
	must(err)
	if _, err := c.ReadRecord(ctx, aud, pat.ID, m.RecordID, consent.Treatment); err == nil {
		t.Fatal("the auditor read clinical content")
	}
	last := n.Node.Height()
	for n.Node.Height() < last+2 {
		select {
		case <-ctx.Done():
			t.Fatal("the node made no more blocks")
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.Stop()
	return &chain{home: home, patient: pat.ID, record: m.RecordID, written: m.Height}
}

// copyHome gives a test its own copy of a stopped node's home to tamper with (or to start
// a node on again).
func (c *chain) copyHome(t *testing.T) string { return nodetest.CopyHome(t, c.home) }

// blockInfo reports the head, the heights whose blocks carry transactions, and the block
// hashes.
func blockInfo(t *testing.T, home string) (head int64, withTxs []int64, hashes map[int64][]byte) {
	t.Helper()
	db, err := dbm.NewGoLevelDB("blockstore", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs := store.NewBlockStore(db)
	hashes = map[int64][]byte{}
	for h := bs.Base(); h <= bs.Height(); h++ {
		m := bs.LoadBlockMeta(h)
		if m.NumTxs > 0 {
			withTxs = append(withTxs, h)
		}
		hashes[h] = m.BlockID.Hash
	}
	return bs.Height(), withTxs, hashes
}

// flipLevelDB flips one bit of the value stored under key in one of CometBFT's databases
// ("blockstore" or "state"). offset picks the byte from the value's length.
func flipLevelDB(t *testing.T, home, name, key string, offset func(n int) int) {
	t.Helper()
	db, err := dbm.NewGoLevelDB(name, filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Get([]byte(key))
	if err != nil || v == nil {
		t.Fatalf("%s holds no %q: %v", name, key, err)
	}
	v[offset(len(v))] ^= 0x04
	if err := db.SetSync([]byte(key), v); err != nil {
		t.Fatal(err)
	}
}
