package blobs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDeleteLeavesNoTrace: an erased record's blob is gone from the store, bytes and
// markers, and deleting it again (or one never held) is not an error.
func TestDeleteLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("erase me "), 1000)
	d := sha256.Sum256(data)
	if err := s.Put(d, data); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkReferenced(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, _ error) error {
		if e != nil && !e.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, data[:64]) || bytes.Contains([]byte(p), []byte(filepath.Base(s.path(d)))) {
				t.Errorf("%s remains after Delete", p)
			}
		}
		return nil
	})
	if err := s.Delete(d); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}
