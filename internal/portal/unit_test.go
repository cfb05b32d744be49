package portal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/keys"
)

func TestSessionExpiryAndWipe(t *testing.T) {
	ks, err := keys.NewKeystore("w")
	if err != nil {
		t.Fatal(err)
	}
	sign := ks.Keys.Sign
	tab := &sessions{m: map[string]*session{}, idle: time.Minute, maxAge: time.Hour, pending: 10 * time.Second}
	t0 := time.Unix(5000, 0)
	s := &session{ks: ks, stage: stagePassphrase}
	tab.create(s, t0)
	if len(tab.sweep(t0.Add(9*time.Second))) != 0 {
		t.Fatal("pending session swept early")
	}
	if got := tab.sweep(t0.Add(10 * time.Second)); len(got) != 1 || s.ks != nil {
		t.Fatalf("pending session not swept and wiped: %d, ks %v", len(got), s.ks != nil)
	}
	for i, b := range sign {
		if b != 0 {
			t.Fatalf("signing key byte %d not zeroed", i)
		}
	}
	// Signed in: idle and absolute limits.
	a := &session{stage: stageSignedIn}
	tab.create(a, t0)
	for m := 1; m <= 59; m++ { // active every 59 s for nearly an hour
		if tab.expired(a, t0.Add(time.Duration(m)*59*time.Second)) {
			t.Fatalf("expired while active at minute %d", m)
		}
		a.lastSeen = t0.Add(time.Duration(m) * 59 * time.Second)
	}
	if !tab.expired(a, t0.Add(time.Hour)) {
		t.Error("session outlived its maximum age")
	}
	a.lastSeen = t0
	if !tab.expired(a, t0.Add(time.Minute)) {
		t.Error("idle session did not expire")
	}
}

// TestSeenStore: what a patient was shown survives a reopen; a failed write leaves them
// still to be told; a damaged file is an error, not "nothing seen" and not "all seen".
func TestSeenStore(t *testing.T) {
	dir := t.TempDir()
	s, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.mark("pat", map[string]string{"e-1": "awaiting justification"}); err != nil {
		t.Fatal(err)
	}
	if err := s.mark("pat", map[string]string{"e-2": "reviewed"}); err != nil {
		t.Fatal(err)
	}
	s2, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.get("pat"); len(got) != 2 || got["e-1"] != "awaiting justification" || got["e-2"] != "reviewed" {
		t.Fatalf("after a reopen: %v", got)
	}
	if got := s2.get("someone else"); len(got) != 0 {
		t.Fatalf("another patient's seen set: %v", got)
	}
	// The write fails (its directory is gone): nothing changes in memory either.
	gone := filepath.Join(t.TempDir(), "portal")
	os.MkdirAll(gone, 0o700)
	s3, err := openSeen(gone)
	if err != nil {
		t.Fatal(err)
	}
	s3.mark("pat", map[string]string{"e-1": "awaiting review"})
	os.RemoveAll(gone)
	if err := s3.mark("pat", map[string]string{"e-1": "reviewed", "e-9": "reviewed"}); err == nil {
		t.Fatal("a mark whose write failed reported success")
	}
	if got := s3.get("pat"); got["e-1"] != "awaiting review" || got["e-9"] != "" {
		t.Fatalf("after a failed write: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "emergency-seen.json"), []byte(`{"pat": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSeen(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file: %v", err)
	}
}
