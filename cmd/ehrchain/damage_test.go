package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// damageStory is a stopped node's home after a patient's record was written and read, with
// what the damage tests need to know about it. It is built once (running a node is the slow
// part); each test damages its own copy.
type damageStory struct {
	home          string
	patient       string
	record        string
	writtenAt     int64 // the height of the record's write
	resultKey     []byte
	resultAt      int64 // the height of that transaction result
	headAtStopped int64
}

var (
	storyOnce sync.Once
	story     *damageStory
)

func theDamageStory(t *testing.T) *damageStory {
	t.Helper()
	storyOnce.Do(func() { story = runDamageStory(t) })
	if story == nil {
		t.Fatal("the story failed in an earlier test")
	}
	return story
}

func runDamageStory(t *testing.T) *damageStory {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	c := n.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	m, err := c.PutRecord(ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation","status":"final"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadRecord(ctx, cast.Patient, cast.Patient.ID, m.RecordID, consent.Treatment); err != nil {
		t.Fatal(err)
	}
	for last := n.Node.Height(); n.Node.Height() < last+2; {
		if ctx.Err() != nil {
			t.Fatal("the node made no more blocks")
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.Stop()
	// Beside the test binary, which the test main removes at the end.
	dir, err := os.MkdirTemp(filepath.Dir(binary), "story-")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.CopyTree(t, home, dir)
	s := &damageStory{home: dir, patient: cast.Patient.ID, record: m.RecordID, writtenAt: m.Height}
	// The newest transaction result: an index entry the start-up check does not cover.
	db := openAppDB(t, dir)
	it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte("itxr/"), UpperBound: []byte("itxr0")})
	for it.First(); it.Valid(); it.Next() {
		if h, _ := resultHeightAndCode(t, it.Value()); h > s.resultAt {
			s.resultKey, s.resultAt = bytes.Clone(it.Key()), h
		}
	}
	it.Close()
	db.Close()
	if s.resultKey == nil || s.writtenAt == 0 {
		t.Fatalf("story: no transaction result or write height: %+v", s)
	}
	return s
}

// resultHeightAndCode reads a stored transaction result (app/results.go: a format number,
// the height, the code) and says at which byte its code starts.
func resultHeightAndCode(t *testing.T, v []byte) (height int64, codeAt int) {
	t.Helper()
	if len(v) < 3 || v[0] != 1 {
		t.Fatalf("transaction result %x is not in the binary form", v)
	}
	height, n := bin.Varint(v[1:])
	if n <= 0 || 1+n >= len(v) {
		t.Fatalf("transaction result %x holds no height and code", v)
	}
	return height, 1 + n
}

// copy gives a test its own copy of the story's home.
func (s *damageStory) copy(t *testing.T) string { return nodetest.CopyHome(t, s.home) }

func openAppDB(t *testing.T, home string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(filepath.Join(home, "app", "state.db"), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// editApp rewrites the value stored under key in the application's state database.
func editApp(t *testing.T, home string, key []byte, edit func(v []byte)) {
	t.Helper()
	db := openAppDB(t, home)
	defer db.Close()
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("%q: %v", key, err)
	}
	v = bytes.Clone(v)
	closer.Close()
	edit(v)
	if err := db.Set(key, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// flipTable moves the CometBFT database name's entries from its journal into a table file
// (a young chain keeps them all in the journal) and flips bytes in the middle of that table,
// as a failing disk or a careless edit would.
func flipTable(t *testing.T, home, name string) {
	t.Helper()
	path := filepath.Join(home, "data", name+".db")
	db, err := leveldb.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompactRange(util.Range{}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tables, _ := filepath.Glob(filepath.Join(path, "*.ldb"))
	if len(tables) == 0 {
		t.Fatalf("%s has no table file after compaction", path)
	}
	for _, f := range tables {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(b) / 4; i < len(b)/4+8; i++ {
			b[i] ^= 0x55
		}
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// startDamaged runs `ehrchain start` on home as a process and returns its output; the test
// fails unless it exits non-zero on its own.
func startDamaged(t *testing.T, home string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "start", "--home", home, "--api", freePort(t), "--p2p", freePort(t), "--no-rpc")
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+testPass)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("start did not refuse the damaged home; it ran until killed:\n%s", out)
	}
	if err == nil {
		t.Fatalf("start exited 0 on a damaged home:\n%s", out)
	}
	return string(out)
}

// wantRefusal checks that out is a clean refusal naming store (and height, if not 0).
func wantRefusal(t *testing.T, out, store string, height int64) {
	t.Helper()
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("start panicked instead of refusing:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "error: ") {
			line = l
		}
	}
	if !strings.Contains(line, "refusing to start: the "+store+" ") || !strings.Contains(line, "ehrchain restore") || !strings.Contains(line, "state sync") {
		t.Fatalf("want one line refusing to start because the %s is damaged, with what to do; got:\n%s", store, out)
	}
	if height > 0 && !strings.Contains(line, " at height "+strconv.FormatInt(height, 10)+":") {
		t.Fatalf("want the refusal to name height %d; got:\n%s", height, line)
	}
	t.Log(line)
}

func TestStartRefusesDamagedHome(t *testing.T) {
	s := theDamageStory(t)
	headKey := []byte("irh/" + s.record) // version 1 is the head: its entry's log index follows the version
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, home string)
		store  string
		height int64
	}{
		{"block store table", func(t *testing.T, home string) { flipTable(t, home, "blockstore") }, "block store", 0},
		{"consensus state table", func(t *testing.T, home string) { flipTable(t, home, "state") }, "consensus state", 0},
		{"consensus state's app hash", func(t *testing.T, home string) {
			db, err := leveldb.OpenFile(filepath.Join(home, "data", "state.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st, err := db.Get([]byte("stateKey"), nil)
			if err != nil {
				t.Fatal(err)
			}
			app := openAppDB(t, home)
			meta, closer, err := app.Get([]byte("m/commit"))
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				AppHash []byte `json:"app_hash"`
			}
			json.Unmarshal(meta, &c)
			closer.Close()
			app.Close()
			i := bytes.Index(st, c.AppHash)
			if i < 0 {
				t.Fatal("the consensus state does not hold the application's app hash")
			}
			st[i+3] ^= 0x10
			if err := db.Put([]byte("stateKey"), st, nil); err != nil {
				t.Fatal(err)
			}
		}, "consensus state", 0},
		{"consensus WAL", func(t *testing.T, home string) {
			wal := filepath.Join(home, "data", "cs.wal", "wal")
			b, err := os.ReadFile(wal)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x40
			os.WriteFile(wal, b, 0o600)
		}, "consensus WAL", 0},
		{"state database value", func(t *testing.T, home string) {
			db := openAppDB(t, home)
			var leaf []byte
			it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte("s/s"), UpperBound: []byte("s/t")})
			for it.First(); it.Valid(); it.Next() {
				if v := it.Value(); len(v) > 0 && v[0] == 0 && bytes.Contains(v, []byte("id/"+s.patient)) {
					leaf = bytes.Clone(it.Key())
				}
			}
			it.Close()
			db.Close()
			if leaf == nil {
				t.Fatal("no stored state-map leaf of the patient")
			}
			editApp(t, home, leaf, func(v []byte) { v[len(v)-5] ^= 0x04 })
		}, "state database", 0},
		{"edited record metadata", func(t *testing.T, home string) {
			var head []byte
			editApp(t, home, headKey, func(v []byte) { head = bytes.Clone(v) })
			if len(head) != 12 {
				t.Fatalf("head entry %x", head)
			}
			// The stored metadata, in the record's entry (stored after every other key,
			// under "w", state/indexkeys.go): change the resource type the patient is shown.
			editApp(t, home, append([]byte("wrw/"), head[4:]...), func(v []byte) {
				i := bytes.Index(v, []byte("Observation"))
				copy(v[i:], "Medication!")
			})
		}, "record index", s.writtenAt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := s.copy(t)
			tc.damage(t, home)
			wantRefusal(t, startDamaged(t, home), tc.store, tc.height)
		})
	}
}

// TestStartAcceptsUndamagedHome: the checks pass an intact home, including one whose
// CometBFT databases were compacted into table files.
func TestStartAcceptsUndamagedHome(t *testing.T) {
	s := theDamageStory(t)
	home := s.copy(t)
	for _, name := range []string{"blockstore", "state"} {
		db, err := leveldb.OpenFile(filepath.Join(home, "data", name+".db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		db.CompactRange(util.Range{})
		db.Close()
	}
	p := startProc(t, home)
	p.kill()
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// TestVerifyRunningNode verifies a running node (it keeps committing): an intact one is OK;
// one whose transaction-result index entry was edited while it was stopped (start does not
// check that index, no hash covers it) fails at the height whose block wrote the entry.
func TestVerifyRunningNode(t *testing.T) {
	s := theDamageStory(t)
	intact := s.copy(t)
	p := startProc(t, intact)
	out, err := run(t, "verify", "--home", intact)
	if err != nil || !strings.Contains(out, "the node is running") || !strings.Contains(out, "OK: ") || !strings.Contains(out, "replayed") {
		t.Fatalf("online verify of an intact node: %v\n%s\nnode:\n%s", err, out, p.out)
	}
	t.Log(strings.TrimSpace(out))
	p.kill()

	home := s.copy(t)
	editApp(t, home, s.resultKey, func(v []byte) {
		if _, at := resultHeightAndCode(t, v); v[at] != 0 {
			t.Fatalf("result %x holds no code 0", v)
		} else {
			v[at] = 7
		}
	})
	p = startProc(t, home)
	cl := client.New(p.api)
	before, err := cl.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "verify", "--home", home, "--quiet")
	want := "FAILED at height " + strconv.FormatInt(s.resultAt, 10) + ": index: "
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("online verify of an edited index entry: want %q, got %v\n%s", want, err, out)
	}
	t.Log(strings.TrimSpace(out))
	// The node committed on during the verification and still does.
	for {
		after, err := cl.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if after.Height > before.Height {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}
