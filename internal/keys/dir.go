package keys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	fileExt     = ".json"
	maxNameLen  = 64
	dirPerm     = 0o700
	filePerm    = 0o600
	maxLoadSize = MaxFileSize
)

// ValidName reports whether name can be used as a keystore name: 1..64
// letters, digits, '-', '_' or '.', not starting with '.' (which would hide
// the file and could collide with temporary files).
func ValidName(name string) bool {
	if len(name) < 1 || len(name) > maxNameLen || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Dir is a directory of keystore files named <name>.json. The directory is
// created 0700 and files 0600 because they hold (encrypted) private keys.
type Dir struct{ Path string }

func (d Dir) file(name string) (string, error) {
	if d.Path == "" {
		return "", errors.New("keys: keystore directory path is empty")
	}
	if !ValidName(name) {
		return "", fmt.Errorf("%w: %q (use 1..%d letters, digits, '-', '_', '.'; no leading '.')", ErrBadName, name, maxNameLen)
	}
	return filepath.Join(d.Path, name+fileExt), nil
}

// Save writes a new keystore file. It never overwrites, so creating an
// identity cannot destroy an existing one.
func (d Dir) Save(name string, data []byte) error {
	path, err := d.file(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Path, dirPerm); err != nil {
		return fmt.Errorf("keys: create keystore directory: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := writeSyncClose(fh, data); err != nil {
		os.Remove(path)
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	syncDir(d.Path)
	return nil
}

// Replace atomically writes a keystore file (temporary file, then rename),
// so a crash during a rotation leaves either the old or the new keystore,
// never a torn one. It creates the file if it does not exist.
func (d Dir) Replace(name string, data []byte) error {
	path, err := d.file(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Path, dirPerm); err != nil {
		return fmt.Errorf("keys: create keystore directory: %w", err)
	}
	fh, err := os.CreateTemp(d.Path, "."+name+fileExt+".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	tmp := fh.Name()
	if err := fh.Chmod(filePerm); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("keys: %w", err)
	}
	if err := writeSyncClose(fh, data); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: %w", err)
	}
	syncDir(d.Path)
	return nil
}

// Load reads a keystore file.
func (d Dir) Load(name string) ([]byte, error) {
	path, err := d.file(name)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no keystore %q in %s", ErrNotFound, name, d.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: %s is not a regular file", path)
	}
	if st.Size() > maxLoadSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrMalformed, path, st.Size(), maxLoadSize)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxLoadSize+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(data) > maxLoadSize {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrMalformed, path, maxLoadSize)
	}
	return data, nil
}

// List returns the names of the keystores in the directory, sorted. A
// missing directory holds no keystores.
func (d Dir) List() ([]string, error) {
	if d.Path == "" {
		return nil, errors.New("keys: keystore directory path is empty")
	}
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileExt)
		if !ok || !e.Type().IsRegular() || !ValidName(name) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

func writeSyncClose(fh *os.File, data []byte) error {
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// syncDir makes a new directory entry durable. Not every platform can sync
// a directory, so failure to do so is not reported.
func syncDir(path string) {
	dh, err := os.Open(path)
	if err != nil {
		return
	}
	dh.Sync()
	dh.Close()
}
