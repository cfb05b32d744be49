package testnet

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestDisasterRecoveryFromBackup is the drill docs/OPERATIONS.md asks operators to run: on
// four validators, one is backed up while it runs, the chain goes on without it, its whole
// home directory is lost, and it is restored from the backup. It catches up from its peers,
// re-replicates the blob written after the backup, signs blocks again, and passes verify;
// every record committed before and after the backup reads back through it.
func TestDisasterRecoveryFromBackup(t *testing.T) {
	nw := newNetwork(t, 4)
	c := nw.client(0)
	cast := nodetest.RegisterCast(t, nw.ctx, c, nw.reg)
	put := func(plain []byte, typ string) *records.Meta {
		t.Helper()
		w, err := c.PutRecord(nw.ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
			ResourceType: typ, ContentType: "application/octet-stream", Plaintext: plain})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	random := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	plain := map[string][]byte{}
	var written []*records.Meta
	for _, p := range [][]byte{[]byte("BP 120/80 before the backup"), random(150 << 10)} {
		w := put(p, "Observation")
		plain[w.RecordID], written = p, append(written, w)
	}
	home := nw.m.HomeOf(nw.dir, 3)
	waitFor(t, 30*time.Second, "node3 to hold the first blob", func() bool { return held(home, written[1].Digest) })

	backup := filepath.Join(t.TempDir(), "node3-backup")
	if out, err := exec.Command(binary, "--home", home, "backup", "--out", backup, "--include-keys", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("backup of the running validator: %v\n%s", err, out)
	}
	for _, p := range [][]byte{[]byte("BP 130/85 after the backup"), random(150 << 10)} {
		w := put(p, "Observation")
		plain[w.RecordID], written = p, append(written, w)
	}
	last := written[len(written)-1]
	nw.waitHeight(3, last.Height, 30*time.Second)

	// The disaster: node3's disk is gone. The three others keep the chain going.
	nw.kill(3)
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
	nw.register(0)
	if out, err := exec.Command(binary, "restore", "--from", backup, "--home", home, "--validator-key", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	nw.start(3)
	tip := nw.waitHeight(0, last.Height+2, 30*time.Second)
	nw.waitHeight(3, tip, 90*time.Second)
	if a, b := nw.appHashAt(0, tip), nw.appHashAt(3, tip); a != b {
		t.Fatalf("app hash at %d: %s on node0, %s on the restored node", tip, a, b)
	}
	waitFor(t, 60*time.Second, "the restored node to re-replicate the blob written after its backup", func() bool { return held(home, last.Digest) })
	for _, w := range written {
		r, err := nw.client(3).ReadRecord(nw.ctx, cast.Patient, cast.Patient.ID, w.RecordID, "treatment")
		if err != nil || !bytes.Equal(r.Plaintext, plain[w.RecordID]) {
			t.Fatalf("record %s (height %d) through the restored node: %v", w.RecordID, w.Height, err)
		}
	}

	// It is a validator again: its signature is in a commit after the restore.
	st, err := nw.rpc(3).Status(nw.ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr := st.ValidatorInfo.Address
	waitFor(t, 60*time.Second, "the restored validator to sign a block", func() bool {
		h, _ := nw.height(0)
		cm, err := nw.rpc(0).Commit(nw.ctx, &h)
		if err != nil {
			return false
		}
		for _, s := range cm.Commit.Signatures {
			if bytes.Equal(s.ValidatorAddress, addr) && len(s.Signature) > 0 {
				return true
			}
		}
		return false
	})
	out, err := exec.Command(binary, "--home", home, "verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK:") {
		t.Fatalf("verify of the restored node: %v\n%s", err, out)
	}
}
