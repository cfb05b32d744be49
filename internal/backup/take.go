package backup

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/node"
)

// Options of Take.
type Options struct {
	// Keys also copies the keystores (keys/), the validator key and its sign state.
	Keys     bool
	Progress Progress
}

// HoldFunc holds a node between two blocks: it checkpoints the application state into
// stage and calls fn with the held stores ((*node.Node).Hold, node.HoldStopped).
type HoldFunc func(stage string, fn func(*node.Pause) error) error

// Take writes a backup of home, at the height hold pauses it at, into out, which must not
// exist yet. On failure it removes out.
func Take(home, out string, o Options, hold HoldFunc) (_ *Manifest, err error) {
	if home, err = filepath.Abs(home); err != nil {
		return nil, err
	}
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(home, out); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%s is inside the home directory %s: write the backup elsewhere, ideally to another disk", out, home)
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s already exists: a backup is written into a new directory", out)
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, fmt.Errorf("create the backup directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(out)
		}
	}()
	// The checkpoint hard-links the state database's tables, so it is made inside the home
	// (the same file system) and removed once copied out.
	stage, err := os.MkdirTemp(home, ".backup-stage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	m := &Manifest{Format: format, Keys: o.Keys, Created: time.Now().UTC().Truncate(time.Second)}
	err = hold(filepath.Join(stage, "state.db"), func(p *node.Pause) error {
		m.ChainID, m.Height, m.AppHash = p.ChainID, p.Height, strings.ToUpper(hex.EncodeToString(p.AppHash))
		files, err := copyAll(home, out, p, o)
		m.Files = files
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if err := m.write(out); err != nil {
		return nil, err
	}
	return m, nil
}

// source is a file to copy and its path in the backup.
type source struct {
	from, rel string
	required  bool // part of the checkpoint: it cannot vanish
}

func copyAll(home, out string, p *node.Pause, o Options) ([]File, error) {
	paths := node.Paths{Home: home}
	var srcs []source
	if err := walk(p.StateDir, "app/state.db", true, &srcs); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(home, "config"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.Type().IsRegular() || skipName(name):
		case name == "addrbook.json": // CometBFT rebuilds it from the peers
		case "config/"+name == validatorKey && !o.Keys:
		default:
			srcs = append(srcs, source{from: filepath.Join(home, "config", name), rel: "config/" + name, required: true})
		}
	}
	for _, d := range []string{"app/blobs", "portal"} {
		if err := walk(filepath.Join(home, d), d, false, &srcs); err != nil {
			return nil, err
		}
	}
	if o.Keys {
		if err := walk(paths.Keys(), "keys", false, &srcs); err != nil {
			return nil, err
		}
	}
	mt := &meter{report: o.Progress}
	for _, s := range srcs {
		if fi, err := os.Stat(s.from); err == nil {
			mt.total += fi.Size()
		}
	}
	for _, name := range node.LevelDBs {
		mt.total += treeSize(filepath.Join(paths.Data(), name+".db"))
	}

	var files []File
	for _, s := range srcs {
		n, sum, err := copyFile(s.from, filepath.Join(out, filepath.FromSlash(s.rel)), mt)
		if errors.Is(err, fs.ErrNotExist) && !s.required {
			continue // a blob swept or a portal file replaced since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", s.rel, err)
		}
		files = append(files, File{Path: s.rel, Size: n, SHA256: sum})
	}
	for _, name := range node.LevelDBs {
		rel := "data/" + name + ".db"
		dir := filepath.Join(out, filepath.FromSlash(rel))
		if err := exportLevel(p.Levels[name], dir, mt); err != nil {
			return nil, fmt.Errorf("copy CometBFT's %s database: %w", name, err)
		}
		var written []source
		if err := walk(dir, rel, true, &written); err != nil {
			return nil, err
		}
		for _, w := range written {
			n, sum, err := hashFile(w.from)
			if err != nil {
				return nil, err
			}
			files = append(files, File{Path: w.rel, Size: n, SHA256: sum})
		}
	}
	if o.Keys && p.SignState != nil {
		if err := writeSynced(filepath.Join(out, filepath.FromSlash(signState)), p.SignState); err != nil {
			return nil, err
		}
		n, sum, err := hashFile(filepath.Join(out, filepath.FromSlash(signState)))
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: signState, Size: n, SHA256: sum})
	}
	mt.total = mt.done // the estimate gives way to what was written
	mt.add(0, true)
	return files, nil
}

// walk lists the regular files under dir as sources under rel. A missing dir lists
// nothing.
func walk(dir, rel string, required bool, into *[]source) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !required {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || skipName(d.Name()) {
			return nil
		}
		r, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		*into = append(*into, source{from: p, rel: rel + "/" + filepath.ToSlash(r), required: required})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	return err
}

// skipName leaves out temporary files (".up-…", "….tmp") and database lock and log files.
func skipName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || name == "LOCK" || name == "LOG"
}
