package blobs

import (
	"crypto/sha256"
	"errors"
	"os"
	"testing"
)

func TestBlobDigestChecked(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("encrypted attachment bytes")
	d := sha256.Sum256(data)
	if err := s.Put(d, []byte("other bytes")); err == nil {
		t.Fatal("a blob was stored under a digest it does not hash to")
	}
	if _, err := s.Get(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
	if err := s.Put(d, data); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(d); err != nil || string(got) != string(data) {
		t.Fatalf("get: %q %v", got, err)
	}
	// A file altered on disk is reported, not served.
	if err := os.WriteFile(s.path(d), []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(d); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered blob: %v", err)
	}
}
