package integrity

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// story is shared by the tests of this package: running a node is the slow part. It is
// kept in a directory of its own (the node's temporary home goes with the test that ran it)
// and each test tampers with its own copy.
var (
	story    *chain
	storyDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if storyDir != "" {
		os.RemoveAll(storyDir)
	}
	os.Exit(code)
}

func storyChain(t *testing.T) *chain {
	t.Helper()
	if story == nil {
		c := runStory(t)
		dir, err := os.MkdirTemp("", "ehrchain-integrity-")
		if err != nil {
			t.Fatal(err)
		}
		storyDir = dir
		nodetest.CopyTree(t, c.home, dir)
		c.home = dir
		story = c
	}
	return story
}

func TestVerifyHonestChain(t *testing.T) {
	c := storyChain(t)
	for _, o := range []Options{{}, {NoReplay: true}} {
		home := c.copyHome(t)
		before := fingerprint(t, home)
		rep, err := Verify(home, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if after := fingerprint(t, home); after != before {
			t.Fatalf("verify changed the home it verified:\n%s\nbecame\n%s", before, after)
		}
		if rep.Verified != rep.Head-rep.Base+1 || rep.Head < 5 || rep.AppHeight != rep.Head || rep.Events < 6 || rep.Replayed == o.NoReplay {
			t.Fatalf("%+v: report %+v", o, rep)
		}
		t.Logf("%+v: %+v", o, rep)
	}
}

// fingerprint lists every file of home (but the lock file, which holds the locker's pid)
// with the SHA-256 of its content.
func fingerprint(t *testing.T, home string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "ehrchain.lock" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		fmt.Fprintf(&b, "%s %x\n", rel, sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func wantFailure(t *testing.T, err error, height int64, part string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a failure at height %d (%s), got %v", height, part, err)
	}
	if (height >= 0 && f.Height != height) || (part != "" && f.Part != part) {
		t.Fatalf("want a failure at height %d (%s), got %v", height, part, f)
	}
	t.Logf("detected: %v", f)
}

// TestVerifyDetectsTamperedBlocks flips one bit in each kind of value CometBFT stores for a
// block (and in its consensus state database) and expects verify to name that block's height.
func TestVerifyDetectsTamperedBlocks(t *testing.T) {
	c := storyChain(t)
	head, withTxs, hashes := blockInfo(t, c.home)
	h := withTxs[len(withTxs)/2] // a block with transactions, neither first nor last
	first := func(int) int { return 0 }
	mid := func(n int) int { return n / 2 }
	last := func(n int) int { return n - 1 }
	for _, tc := range []struct {
		name, db, key string
		offset        func(int) int
		height        int64
		part          string
	}{
		{"block part, first byte", "blockstore", fmt.Sprintf("P:%d:0", h), first, h, "block"},
		{"block part, a transaction byte", "blockstore", fmt.Sprintf("P:%d:0", h), mid, h, "block"},
		{"block part, last byte", "blockstore", fmt.Sprintf("P:%d:0", h), last, h, "block"},
		{"block meta", "blockstore", fmt.Sprintf("H:%d", h), mid, h, "block"},
		{"block-hash index", "blockstore", fmt.Sprintf("BH:%x", hashes[h]), last, h, "block"},
		{"commit of the block", "blockstore", fmt.Sprintf("C:%d", h), mid, h, "commit"},
		{"seen commit of the block", "blockstore", fmt.Sprintf("SC:%d", h), mid, h, "commit"},
		{"seen commit of the head", "blockstore", fmt.Sprintf("SC:%d", head), mid, head, "commit"},
		{"first block", "blockstore", "P:1:0", mid, 1, "block"},
		{"last block", "blockstore", fmt.Sprintf("P:%d:0", head), mid, head, "block"},
		{"stored results, app hash", "state", fmt.Sprintf("abciResponsesKey:%d", h), last, h, "results"},
		{"stored results, middle byte", "state", fmt.Sprintf("abciResponsesKey:%d", h), mid, h, "results"},
		{"stored validator set", "state", "validatorsKey:1", mid, 1, "validators"},
		{"stored consensus parameters", "state", "consensusParamsKey:1", mid, 1, "consensus params"},
		{"consensus state", "state", "stateKey", mid, head, "consensus state"},
		{"consensus state's app hash", "state", "stateKey", last, head, "consensus state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := c.copyHome(t)
			flipLevelDB(t, home, tc.db, tc.key, tc.offset)
			rep, err := Verify(home, Options{})
			wantFailure(t, err, tc.height, tc.part)
			if tc.part != "consensus state" && rep.Verified != tc.height-1 {
				t.Fatalf("verified %d blocks before failing at height %d", rep.Verified, tc.height)
			}
		})
	}
}

// TestVerifyDetectsRewrittenBlock rewrites a block consistently, as someone with write
// access but without the validators' keys could: a changed transaction, recomputed data
// hash, header hash, parts and block meta. Only the commit signatures give it away.
func TestVerifyDetectsRewrittenBlock(t *testing.T) {
	c := storyChain(t)
	_, withTxs, _ := blockInfo(t, c.home)
	h := withTxs[len(withTxs)/2]
	home := c.copyHome(t)
	db, err := dbm.NewGoLevelDB("blockstore", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	b := store.NewBlockStore(db).LoadBlock(h)
	txs := append(types.Txs(nil), b.Txs...)
	tx := append([]byte(nil), txs[0]...)
	tx[len(tx)/2] ^= 1
	txs[0] = tx
	b.Data = types.Data{Txs: txs}
	b.DataHash = b.Data.Hash()
	ps, err := b.MakePartSet(types.BlockPartSizeBytes)
	if err != nil {
		t.Fatal(err)
	}
	meta := types.NewBlockMeta(b, ps)
	batch := db.NewBatch()
	for i := 0; i < int(ps.Total()); i++ {
		pp, _ := ps.GetPart(i).ToProto()
		batch.Set([]byte(fmt.Sprintf("P:%d:%d", h, i)), mustMarshal(t, pp))
	}
	batch.Set([]byte(fmt.Sprintf("H:%d", h)), mustMarshal(t, meta.ToProto()))
	batch.Set([]byte(fmt.Sprintf("BH:%x", []byte(b.Hash()))), []byte(fmt.Sprint(h)))
	if err := batch.WriteSync(); err != nil {
		t.Fatal(err)
	}
	batch.Close()
	db.Close()
	_, err = Verify(home, Options{})
	wantFailure(t, err, h, "commit")
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyDetectsTamperedAppState flips one bit in the application's state database: an
// event, a state-map leaf, a state-map inner node, derived index entries, the commit record.
func TestVerifyDetectsTamperedAppState(t *testing.T) {
	c := storyChain(t)
	db := openPebble(t, c.home)
	var write struct {
		key    []byte
		height int64
		hashes int // bytes of node hashes before the leaf in its entry
	}
	// Event log entries: L e <index>, the hashes of the nodes the leaf completed (one and
	// one more per trailing one bit of the index), then the leaf.
	it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte("Le"), UpperBound: []byte("Lf")})
	for it.First(); it.Valid(); it.Next() {
		hashes := 32 * (1 + bits.TrailingZeros64(^binary.BigEndian.Uint64(it.Key()[2:])))
		ev, err := audit.Decode(it.Value()[hashes:])
		if err != nil {
			t.Fatal(err)
		}
		if ev.Action == audit.RecordWrite {
			write.key, write.height, write.hashes = bytes.Clone(it.Key()), ev.Height, hashes
		}
	}
	it.Close()
	// The stored leaf node of the patient's identity, and the newest inner node.
	var leaf, inner struct {
		key     []byte
		version int64
	}
	it, _ = db.NewIter(&pebble.IterOptions{LowerBound: []byte("s/s"), UpperBound: []byte("s/t")})
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		version := int64(binary.BigEndian.Uint64(k[3:11]))
		switch {
		case len(v) == 0 || v[0] == 's':
		case v[0] == 0 && bytes.Contains(v, []byte("id/"+c.patient)) && version > leaf.version:
			leaf.key, leaf.version = bytes.Clone(k), version
		case v[0] != 0 && version >= inner.version:
			inner.key, inner.version = bytes.Clone(k), version
		}
	}
	it.Close()
	var cipher []byte
	it, _ = db.NewIter(&pebble.IterOptions{LowerBound: []byte("wrw/"), UpperBound: []byte("wrw0")}) // a record entry: metadata, then ciphertext
	if it.First() {
		cipher = bytes.Clone(it.Key())
	}
	it.Close()
	db.Close()
	if write.key == nil || leaf.key == nil || inner.key == nil || cipher == nil {
		t.Fatal("story left no record.write event, identity leaf, inner node or inline ciphertext")
	}

	for _, tc := range []struct {
		name   string
		key    []byte
		offset func(int) int
		height int64 // -1: any
		part   string
	}{
		{"event leaf", write.key, func(n int) int { return write.hashes + (n-write.hashes)/2 }, write.height, "event log"},
		{"event leaf hash", write.key, func(int) int { return 3 }, -1, "event log"},
		{"state map leaf value", leaf.key, func(n int) int { return n - 5 }, leaf.version, "state map"},
		{"state map leaf key", leaf.key, func(int) int { return 4 }, leaf.version, "state map"},
		{"state map inner node", inner.key, func(n int) int { return n / 2 }, inner.version, "state map"},
		{"state map inner node's child pointer", inner.key, func(n int) int { return n - 1 }, inner.version, "state map"},
		{"record index entry", []byte("irp/" + c.patient + "/" + c.record), func(n int) int { return 0 }, c.written, "index"},
		{"inline ciphertext", cipher, func(n int) int { return n - 2 }, c.written, "index"},
		{"commit record", []byte("m/commit"), func(n int) int { return n - 3 }, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := c.copyHome(t)
			db := openPebble(t, home)
			v, closer, err := db.Get(tc.key)
			if err != nil {
				t.Fatalf("%q: %v", tc.key, err)
			}
			v = bytes.Clone(v)
			closer.Close()
			v[tc.offset(len(v))] ^= 0x04
			if err := db.Set(tc.key, v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = Verify(home, Options{})
			wantFailure(t, err, tc.height, tc.part)
			if tc.part == "index" {
				return // no hash covers the indexes: only the replay sees them
			}
			_, err = Verify(home, Options{NoReplay: true})
			wantFailure(t, err, -1, "")
		})
	}
}

func openPebble(t *testing.T, home string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(filepath.Join(home, "app", "state.db"), &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type quiet struct{}

func (quiet) Infof(string, ...any)              {}
func (quiet) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
