package nodetest

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedData finds ../shared/data/<rel> above the calling package's directory, wherever the
// repository is checked out (a clone beside ../shared, or a worktree deeper down).
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatalf("../shared/data/%s not found above the package", rel)
		}
		dir = up
	}
}
