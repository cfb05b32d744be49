package nodetest

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CopyHome gives a test its own copy of a stopped node's home, to tamper with or to start
// a node on again. Not t.TempDir: a node started on the copy may still flush a file while
// it stops, which TempDir's strict cleanup would fail on.
func CopyHome(t testing.TB, src string) string {
	t.Helper()
	dst, err := os.MkdirTemp("", "ehrchain-copy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 5 && os.RemoveAll(dst) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	CopyTree(t, src, dst)
	return dst
}

// CopyTree copies the directory src into dst, which may exist.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
