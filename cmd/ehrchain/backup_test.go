package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/backup"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// written is a record the node acknowledged as committed.
type written struct {
	id     string
	height int64
	text   []byte
}

// TestBackupWhileCommittingThenRestore backs up a node while a provider keeps writing
// records, checks the node goes on committing, restores the backup into a new home, starts
// it, finds every record committed by the backup height and the backup's app hash there,
// and has `verify` pass on it.
func TestBackupWhileCommittingThenRestore(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	cl := client.New(p.api)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	data, err := keys.Dir{Path: filepath.Join(home, "keys")}.Load("registrar")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Decrypt(data, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	cast := nodetest.RegisterCast(t, ctx, cl, reg)
	// One record large enough to live in the blob store.
	big := bytes.Repeat([]byte("scan "), 30_000)
	m, err := cl.PutRecord(ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: big})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := []written{{m.RecordID, m.Height, big}}

	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; load.Err() == nil; i++ {
			text := []byte(`{"resourceType":"Observation","status":"final","id":"` + string(rune('a'+i%26)) + `"}`)
			m, err := cl.PutRecord(load, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
				ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: text})
			if err == nil {
				mu.Lock()
				acked = append(acked, written{m.RecordID, m.Height, text})
				mu.Unlock()
			}
		}
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 5 }, "records committed before the backup")

	out := filepath.Join(t.TempDir(), "backup")
	// Without the operator token the node writes nothing anywhere.
	for _, auth := range []string{"", "Bearer " + strings.Repeat("0", 64)} {
		req, _ := http.NewRequest("POST", "http://"+p.api+"/v1/admin/backup", strings.NewReader(`{"out":"`+out+`"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, serr := os.Stat(out); resp.StatusCode != http.StatusUnauthorized || serr == nil {
			t.Fatalf("backup request with auth %q: HTTP %d, backup written: %v", auth, resp.StatusCode, serr == nil)
		}
	}
	res, err := run(t, "backup", "--home", home, "--node", p.api, "--out", out)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, res)
	}
	if !strings.Contains(res, "copied ") || !strings.Contains(res, "(100%)") {
		t.Errorf("backup showed no progress:\n%s", res)
	}
	man, err := backup.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return acked[len(acked)-1].height > man.Height+1 }, "records committed after the backup")
	stopLoad()
	wg.Wait()
	s, err := cl.Status(ctx)
	if err != nil || s.Height <= man.Height+1 {
		t.Fatalf("the node stopped committing after the backup at height %d: %+v %v", man.Height, s, err)
	}
	for _, f := range man.Files {
		for _, banned := range []string{"keys/", "config/priv_validator_key.json", "data/priv_validator_state.json",
			"operator.token", "data/cs.wal", "app/auditidx", "LOCK", "addrbook.json"} {
			if strings.Contains(f.Path, banned) {
				t.Errorf("a backup without --include-keys holds %s", f.Path)
			}
		}
	}
	blobs := 0
	for _, f := range man.Files {
		if strings.HasPrefix(f.Path, "app/blobs/") && len(filepath.Base(f.Path)) == 64 {
			blobs++
		}
	}
	if blobs == 0 {
		t.Error("the backup holds no blob")
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if res, err := run(t, "restore", "--from", out, "--home", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, res)
	}
	if _, err := os.Stat(filepath.Join(restored, "keys", "registrar.json")); err == nil {
		t.Error("the restored home holds a keystore the backup was not asked to carry")
	}
	q := startProc(t, restored)
	rc := client.New(q.api)
	rs, err := rc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Height != man.Height || rs.AppHash != man.AppHash {
		t.Fatalf("restored node at height %d app hash %s; the backup was height %d app hash %s", rs.Height, rs.AppHash, man.Height, man.AppHash)
	}
	// Reads are audited, so they need a block: this copy has a fresh validator key and
	// cannot make one. Identities are read without an audit event.
	if r, err := rc.Identity(ctx, cast.Patient.ID, false); err != nil || !r.Identity.Active {
		t.Fatalf("the patient is missing from the restored node: %v", err)
	}
	q.kill()
	if res, err := run(t, "verify", "--home", restored, "--quiet"); err != nil || !strings.HasPrefix(res, "OK") {
		t.Fatalf("verify on the restored home: %v\n%s", err, res)
	}

	// Disaster: the validator's home is lost for good after a backup with its keys. The
	// validator restored from it makes blocks again and serves every record committed by the
	// backup height; on a single-validator chain the blocks after it are gone with the home.
	withKeys := filepath.Join(t.TempDir(), "backup-keys")
	if res, err := run(t, "backup", "--home", home, "--node", p.api, "--out", withKeys, "--include-keys", "--quiet"); err != nil {
		t.Fatalf("backup --include-keys: %v\n%s", err, res)
	}
	p.kill()
	mk, err := backup.ReadManifest(withKeys)
	if err != nil {
		t.Fatal(err)
	}
	if !mk.Keys {
		t.Fatal("the manifest of a backup made with --include-keys says it holds no keys")
	}
	again := filepath.Join(t.TempDir(), "validator")
	if res, err := run(t, "restore", "--from", withKeys, "--home", again, "--validator-key"); err != nil || !strings.Contains(res, "double-sign") {
		t.Fatalf("restore --validator-key: %v\n%s", err, res)
	}
	v := startProc(t, again)
	vc := client.New(v.api)
	n := 0
	for _, w := range acked {
		if w.height > mk.Height {
			continue
		}
		n++
		r, err := vc.ReadRecord(ctx, cast.Patient, cast.Patient.ID, w.id, consent.Treatment)
		if err != nil || !bytes.Equal(r.Plaintext, w.text) {
			t.Fatalf("record %s committed at height %d (backup height %d) does not read back from the restored validator: %v", w.id, w.height, mk.Height, err)
		}
	}
	if vs, err := vc.Status(ctx); err != nil || vs.Height <= mk.Height {
		t.Fatalf("the restored validator makes no blocks: %+v %v", vs, err)
	}
	t.Logf("backups at heights %d and %d; %d records read back from the restored validator, %d written after it", man.Height, mk.Height, n, len(acked)-n)
}

// TestRestoreRefusesDamagedBackup flips a byte, truncates, removes and adds a file of a
// stopped node's backup and checks each is refused, naming the file, with nothing written.
// A node killed before its state reached the files is refused an offline backup first: its
// state is behind its blocks until a start replays them.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	p.kill()
	good := filepath.Join(t.TempDir(), "backup")
	if res, err := run(t, "backup", "--home", home, "--out", good, "--quiet"); err == nil || !strings.Contains(res, "was not stopped cleanly") {
		t.Fatalf("offline backup of a node killed right after its start: err=%v\n%s", err, res)
	}
	if _, err := os.Stat(good); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused backup left %s behind: %v", good, err)
	}
	p = startProc(t, home) // replays the blocks the state lacks
	p.stop(t)
	if res, err := run(t, "backup", "--home", home, "--out", good, "--quiet"); err != nil {
		t.Fatalf("offline backup: %v\n%s", err, res)
	}
	man, err := backup.ReadManifest(good)
	if err != nil {
		t.Fatal(err)
	}
	// The largest file of the state database: what a bad disk would most likely hit.
	var victim backup.File
	for _, f := range man.Files {
		if strings.HasPrefix(f.Path, "app/state.db/") && f.Size > victim.Size {
			victim = f
		}
	}
	cases := []struct {
		name, want string
		damage     func(dir string) error
	}{
		{"flipped byte", "is damaged", func(dir string) error {
			p := filepath.Join(dir, victim.Path)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x01
			return os.WriteFile(p, b, 0o600)
		}},
		{"truncated", "is truncated", func(dir string) error { return os.Truncate(filepath.Join(dir, victim.Path), victim.Size/2) }},
		{"missing", "is missing", func(dir string) error { return os.Remove(filepath.Join(dir, victim.Path)) }},
		{"added", "is not listed in the manifest", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "config", "extra.json"), []byte("{}"), 0o600)
		}},
		{"manifest rewritten to hold keys", "outside what a backup holds", func(dir string) error {
			var m map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
			json.Unmarshal(b, &m)
			m["files"] = append(m["files"].([]any), map[string]any{"path": "operator.token", "size": 1, "sha256": strings.Repeat("0", 64)})
			b, _ = json.Marshal(m)
			return os.WriteFile(filepath.Join(dir, backup.ManifestFile), b, 0o600)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
				t.Fatal(err)
			}
			if err := c.damage(dir); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "new")
			res, err := run(t, "restore", "--from", dir, "--home", target, "--quiet")
			if err == nil || !strings.Contains(res, c.want) {
				t.Fatalf("restore of a backup with a %s file: err=%v\n%s", c.name, err, res)
			}
			if c.name != "manifest rewritten to hold keys" && c.name != "added" && !strings.Contains(res, victim.Path) {
				t.Errorf("the refusal does not name %s:\n%s", victim.Path, res)
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			if len(entries) != 0 {
				t.Errorf("a refused restore left %v behind", entries)
			}
		})
	}
	// The undamaged backup restores, and not over a home that holds a node.
	if res, err := run(t, "restore", "--from", good, "--home", home, "--quiet"); err == nil || !strings.Contains(res, "not empty") {
		t.Fatalf("restore over an existing home: err=%v\n%s", err, res)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
