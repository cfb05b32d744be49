package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ManifestFile is the name of the manifest inside a backup directory.
const ManifestFile = "manifest.json"

// format is the manifest version this package writes and reads.
const format = 1

// Manifest describes a backup: the height it was taken at and every file it holds.
type Manifest struct {
	Format  int       `json:"format"`
	ChainID string    `json:"chain_id"`
	Height  int64     `json:"height"`
	AppHash string    `json:"app_hash"` // hex, as `ehrchain status` shows it
	Created time.Time `json:"created"`
	// Keys is set when the backup holds the keystores (keys/) and the validator key.
	Keys  bool   `json:"keys"`
	Files []File `json:"files"`
}

// File is one file of a backup, by its path relative to the home directory.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Paths a backup may hold, relative to the home; a manifest naming anything else is refused,
// so a doctored backup cannot plant, say, an operator token in the new home.
var roots = []string{"config/", "data/", "app/", "portal/", "keys/"}

// Files only a backup made with keys holds.
const (
	validatorKey  = "config/priv_validator_key.json"
	signState     = "data/priv_validator_state.json"
	keystoreRoot  = "keys/"
	stateDBPrefix = "app/state.db/"
)

func (m *Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeSynced(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// ReadManifest reads and checks the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no %s: it is not a backup, or the manifest is missing", dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s does not decode: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("%s is format %d; this ehrchain reads format %d", filepath.Join(dir, ManifestFile), m.Format, format)
	}
	if m.ChainID == "" || m.Height < 1 || m.AppHash == "" {
		return nil, fmt.Errorf("%s names no chain, height or app hash", filepath.Join(dir, ManifestFile))
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("the manifest lists %s twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("the manifest entry for %s has no valid size or SHA-256", f.Path)
		}
		if !m.Keys && (f.Path == validatorKey || f.Path == signState || strings.HasPrefix(f.Path, keystoreRoot)) {
			return nil, fmt.Errorf("the manifest says it holds no keys but lists %s", f.Path)
		}
	}
	return &m, nil
}

// checkPath accepts only clean relative paths under one of the roots.
func checkPath(p string) error {
	if p == "" || path.Clean(p) != p || path.IsAbs(p) || strings.Contains(p, "\\") || strings.HasPrefix(p, "../") {
		return fmt.Errorf("the manifest names %q, which is not a clean path inside a home directory", p)
	}
	for _, r := range roots {
		if strings.HasPrefix(p, r) {
			return nil
		}
	}
	return fmt.Errorf("the manifest names %q, which is outside what a backup holds (%s)", p, strings.Join(roots, ", "))
}

func (m *Manifest) has(p string) bool {
	for _, f := range m.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}
