package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cometbft/cometbft/consensus"
)

// checkWAL decodes every entry of the consensus WAL in dir (its rotated files wal.NNN, then
// the head file wal) with CometBFT's own decoder. CometBFT skips damaged entries of older
// heights and truncates the last height at the first bad one, so a damaged WAL either goes
// unnoticed or loses this validator's record of what it signed. Only the tail of the head
// file may be incomplete: a crash can leave its last entry half written (or zero-filled).
func checkWAL(dir string) error {
	head := filepath.Join(dir, "wal")
	if _, err := os.Stat(head); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	files, err := walFiles(dir)
	if err != nil {
		return err
	}
	for i, f := range files {
		if err := checkWALFile(f, i == len(files)-1); err != nil {
			return &DamageError{Store: "consensus WAL", Path: f, Detail: err.Error()}
		}
	}
	return nil
}

// walFiles lists the WAL group's files in the order CometBFT reads them.
func walFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type rotated struct {
		n    int
		path string
	}
	var old []rotated
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), "wal.")
		if n, err := strconv.Atoi(s); ok && err == nil && !e.IsDir() {
			old = append(old, rotated{n, filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].n < old[j].n })
	var out []string
	for _, r := range old {
		out = append(out, r.path)
	}
	return append(out, filepath.Join(dir, "wal")), nil
}

func checkWALFile(path string, isHead bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r := bytes.NewReader(b)
	dec := consensus.NewWALDecoder(r) // it reads exactly one entry at a time
	for n := 0; ; n++ {
		off := len(b) - r.Len()
		_, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			continue
		}
		if isHead && tornTail(b[off:], err) {
			return nil
		}
		return fmt.Errorf("entry %d (byte %d of %d): %v", n, off, len(b), err)
	}
}

// tornTail reports whether rest, from the entry that failed to decode to the end of the
// file, is what a crash leaves: zeros, or one entry cut short. An entry cut short with
// a whole entry after it is damage (a damaged length field), not a crash.
func tornTail(rest []byte, err error) bool {
	if len(bytes.Trim(rest, "\x00")) == 0 {
		return true
	}
	if !strings.Contains(err.Error(), io.ErrUnexpectedEOF.Error()) || len(rest) > maxTornTail {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if _, err := consensus.NewWALDecoder(bytes.NewReader(rest[i:])).Decode(); err == nil {
			return false
		}
	}
	return true
}

// maxTornTail bounds the tail searched for a whole entry: CometBFT's largest WAL entry
// (maxMsgSizeBytes) is 1 MiB plus framing.
const maxTornTail = 2 << 20
