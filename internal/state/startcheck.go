package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CheckCommitted recomputes the committed app hash of the state database in dir from the raw
// keys, values and event leaves, never trusting a stored hash, and compares it with the
// commit record. A node runs it before opening its state: Open trusts the hashes stored in
// the tree's nodes, so an edited value would otherwise be served as if the validators had
// signed it. The cost is one pass over the committed state. A missing database is fine (a
// new node).
func CheckCommitted(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "state.db")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	s, err := OpenSnapshot(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	c := s.Commit()
	if c.Height == 0 {
		return nil
	}
	mapRoot, err := s.CheckMap(c.Height, nil)
	if err != nil {
		return fmt.Errorf("the state database was altered or damaged: %w", err)
	}
	logRoot, err := s.CheckLog(nil)
	if err != nil {
		return fmt.Errorf("the state database was altered or damaged: %w", err)
	}
	if got := AppHash(mapRoot, logRoot, c.LogSize); !bytes.Equal(got, c.AppHash) {
		return fmt.Errorf("state at height %d recomputes to app hash %X but was committed as %X: the state database was altered", c.Height, got, c.AppHash)
	}
	return nil
}
