package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDiskPartsCountsLinkedFilesOnce: a table a snapshot's checkpoint shares with the state
// database by hard link is counted once, in the state database, whichever is walked first.
func TestDiskPartsCountsLinkedFilesOnce(t *testing.T) {
	home := t.TempDir()
	write := func(rel string, n int) string {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shared := write("app/state.db/000007.sst", 1000)
	write("app/snapshots/40/head", 30)
	link := filepath.Join(home, "app/snapshots/40/state.db/000007.sst")
	os.MkdirAll(filepath.Dir(link), 0o700)
	if err := os.Link(shared, link); err != nil {
		t.Fatal(err)
	}
	got := diskParts(home)
	if got["app/state.db"] != 1000 || got["app/snapshots"] != 30 {
		t.Fatalf("parts %v, want state.db 1000 and snapshots 30", got)
	}
	if n := dirSize(home); n != 1030 {
		t.Fatalf("dirSize %d, want 1030", n)
	}
}
