package backup

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/state"
)

// Damaged is a backup file that does not match its manifest entry.
type Damaged struct {
	Path    string // relative to the backup directory
	Problem string
}

func (d *Damaged) Error() string {
	return fmt.Sprintf("backup file %s %s; refusing to restore a damaged backup", d.Path, d.Problem)
}

// RestoreOptions of Restore.
type RestoreOptions struct {
	// ValidatorKey restores the validator key and its sign state (from a backup made with
	// keys). Without it the new home gets a fresh validator key: it runs as a full node and
	// can never sign as the old validator.
	ValidatorKey bool
	Progress     Progress
}

// Restored says what Restore did.
type Restored struct {
	Manifest     *Manifest
	ValidatorKey bool // the backed-up validator key was restored
	Keystores    bool // keys/ was restored
}

// Restore checks the backup in from against its manifest, every file's size and digest,
// and writes it into home, which must be new or empty. It writes into a staging directory
// beside home and renames it into place only once everything checked out, so a refused
// backup leaves nothing behind.
func Restore(from, home string, o RestoreOptions) (_ *Restored, err error) {
	m, err := ReadManifest(from)
	if err != nil {
		return nil, err
	}
	if o.ValidatorKey && !m.has(validatorKey) {
		return nil, errors.New("the backup holds no validator key (it was made without --include-keys)")
	}
	if err := unlisted(from, m); err != nil {
		return nil, err
	}
	if home, err = filepath.Abs(home); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(home); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already exists and is not empty; restore only into a new home", home)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o700); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(home), "."+filepath.Base(home)+".restore-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(stage)
		}
	}()

	mt := &meter{report: o.Progress}
	for _, f := range m.Files {
		mt.total += f.Size
	}
	r := &Restored{Manifest: m}
	for _, f := range m.Files {
		skip := !o.ValidatorKey && (f.Path == validatorKey || f.Path == signState)
		if err := restoreFile(from, stage, f, skip, mt); err != nil {
			return nil, err
		}
		if !skip && strings.HasPrefix(f.Path, keystoreRoot) {
			r.Keystores = true
		}
	}
	if err := checkState(stage, m); err != nil {
		return nil, err
	}
	p := node.Paths{Home: stage}
	for _, d := range []string{"config", "data", "app", "keys"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o700); err != nil {
			return nil, err
		}
	}
	if o.ValidatorKey {
		if err := raiseSignState(p.PrivValState(), m.Height); err != nil {
			return nil, err
		}
		r.ValidatorKey = true
	} else {
		privval.GenFilePV(p.PrivValKey(), p.PrivValState()).Save()
	}
	if err := os.Remove(home); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(stage, home); err != nil {
		return nil, err
	}
	return r, nil
}

// unlisted refuses a backup holding a file its manifest does not list: it was added after
// the backup was made.
func unlisted(from string, m *Manifest) error {
	listed := map[string]bool{ManifestFile: true}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return &Damaged{Path: rel, Problem: "is not a regular file"}
		}
		if !listed[rel] {
			return &Damaged{Path: rel, Problem: "is not listed in the manifest (it was added after the backup was made)"}
		}
		return nil
	})
}

// restoreFile checks one file's size and digest while copying it into stage (or only
// checks it when skip is set).
func restoreFile(from, stage string, f File, skip bool, mt *meter) error {
	src := filepath.Join(from, filepath.FromSlash(f.Path))
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return &Damaged{Path: f.Path, Problem: "is missing"}
	}
	if err != nil {
		return err
	}
	if fi.Size() != f.Size {
		what := "has the wrong size"
		if fi.Size() < f.Size {
			what = "is truncated"
		}
		return &Damaged{Path: f.Path, Problem: fmt.Sprintf("%s: %d bytes, the manifest says %d", what, fi.Size(), f.Size)}
	}
	var sum string
	if skip {
		_, sum, err = hashFile(src)
		mt.add(f.Size, true)
	} else {
		_, sum, err = copyFile(src, filepath.Join(stage, filepath.FromSlash(f.Path)), mt)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	if sum != f.SHA256 {
		return &Damaged{Path: f.Path, Problem: fmt.Sprintf("is damaged: its SHA-256 is %s, the manifest says %s", sum, f.SHA256)}
	}
	return nil
}

// checkState compares the restored application state and configuration with the manifest.
func checkState(stage string, m *Manifest) error {
	cfg, err := node.LoadConfig(stage)
	if err != nil {
		return fmt.Errorf("the backup's configuration: %w", err)
	}
	if cfg.ChainID != m.ChainID {
		return fmt.Errorf("the backup's configuration is for chain %q but its manifest says %q", cfg.ChainID, m.ChainID)
	}
	snap, err := state.OpenSnapshot(filepath.Join(stage, "app"))
	if err != nil {
		return fmt.Errorf("the backup's state database: %w", err)
	}
	defer snap.Close()
	c := snap.Commit()
	want, err := hex.DecodeString(m.AppHash)
	if err != nil {
		return fmt.Errorf("the manifest's app hash %q is not hex", m.AppHash)
	}
	if c.Height != m.Height || !bytes.Equal(c.AppHash, want) {
		return fmt.Errorf("the backup's state database is at height %d with app hash %X, but the manifest says height %d, app hash %s", c.Height, c.AppHash, m.Height, m.AppHash)
	}
	return nil
}

// raiseSignState makes sure the restored validator will not sign at or below the backup
// height (the sign state copied at the pause already says so; this is the floor if it is
// missing or older).
func raiseSignState(path string, height int64) error {
	var s privval.FilePVLastSignState
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := cmtjson.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("the backup's %s does not decode: %w", signState, err)
		}
	}
	if s.Height >= height {
		return nil
	}
	s = privval.FilePVLastSignState{Height: height, Round: 0, Step: 3} // precommit: height done
	out, err := cmtjson.MarshalIndent(&s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}
