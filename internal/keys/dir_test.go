package keys

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"registrar", "dr-alice", "a", "A_b.c-9", strings.Repeat("x", 64)} {
		if !ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", ".hidden", "a/b", `a\b`, "../x", "a b", "a\x00", "é",
		strings.Repeat("x", 65), "a:b", "a*"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

func TestDirSaveLoadList(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "keys")}
	if names, err := d.List(); err != nil || len(names) != 0 {
		t.Fatalf("List on missing dir = %v, %v", names, err)
	}
	if err := d.Save("zed", []byte("z")); err != nil {
		t.Fatal(err)
	}
	if err := d.Save("alpha", []byte("a")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("dir mode %v is open to others", st.Mode().Perm())
	}
	st, err = os.Stat(filepath.Join(d.Path, "alpha.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("file mode %v is open to others", st.Mode().Perm())
	}

	got, err := d.Load("alpha")
	if err != nil || string(got) != "a" {
		t.Fatalf("Load = %q, %v", got, err)
	}

	// Noise that List must skip.
	for _, n := range []string{"notes.txt", ".alpha.json.tmp-123", "bad name.json"} {
		if err := os.WriteFile(filepath.Join(d.Path, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d.Path, "sub.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	names, err := d.List()
	if err != nil || !slices.Equal(names, []string{"alpha", "zed"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
}

func TestDirSaveRefusesOverwrite(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	if err := d.Save("registrar", []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := d.Save("registrar", []byte("second"))
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), filepath.Join(d.Path, "registrar.json")) {
		t.Fatalf("got %v, want ErrExists naming the path", err)
	}
	if got, _ := d.Load("registrar"); string(got) != "first" {
		t.Fatalf("file was overwritten: %q", got)
	}
}

func TestDirBadNames(t *testing.T) {
	parent := t.TempDir()
	d := Dir{Path: filepath.Join(parent, "keys")}
	for _, bad := range []string{"", "../escape", "a/b", ".", "..", ".hidden", strings.Repeat("x", 65)} {
		if err := d.Save(bad, []byte("x")); !errors.Is(err, ErrBadName) {
			t.Errorf("Save(%q): got %v, want ErrBadName", bad, err)
		}
		if err := d.Replace(bad, []byte("x")); !errors.Is(err, ErrBadName) {
			t.Errorf("Replace(%q): got %v, want ErrBadName", bad, err)
		}
		if _, err := d.Load(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Load(%q): got %v, want ErrBadName", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.json")); err == nil {
		t.Fatal("a bad name escaped the directory")
	}
	if err := (Dir{}).Save("x", nil); err == nil {
		t.Error("empty directory path accepted")
	}
}

func TestDirReplace(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	if err := d.Save("dr-alice", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Replace("dr-alice", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Load("dr-alice"); string(got) != "v2" {
		t.Fatalf("after Replace: %q", got)
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	st, err := os.Stat(filepath.Join(d.Path, "dr-alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestDirLoadNotFound(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	_, err := d.Load("nobody")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), d.Path) {
		t.Fatalf("got %v, want ErrNotFound naming the dir", err)
	}
}

func TestDirRoundTripKeystore(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	ks := fullKeystore(t)
	data, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Save(ks.Name, data); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	rotated, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replace(ks.Name, rotated); err != nil {
		t.Fatal(err)
	}
	loaded, err := d.Load(ks.Name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(loaded, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ks.ID || len(got.Previous) != 2 {
		t.Fatalf("id %s, %d previous", got.ID, len(got.Previous))
	}
}
