package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/consensus"
)

// walBytes encodes n end-of-height entries as CometBFT's WAL does and returns the file with
// the offset where each entry starts.
func walBytes(t *testing.T, n int) ([]byte, []int) {
	t.Helper()
	var b bytes.Buffer
	enc := consensus.NewWALEncoder(&b)
	var offs []int
	for h := 1; h <= n; h++ {
		offs = append(offs, b.Len())
		if err := enc.Encode(&consensus.TimedWALMessage{Time: time.Unix(int64(h), 0).UTC(), Msg: consensus.EndHeightMessage{Height: int64(h)}}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes(), offs
}

// TestCheckWAL: what a crash leaves at the end of the head file passes; damage anywhere
// else, or a damaged length that hides whole entries, is refused.
func TestCheckWAL(t *testing.T) {
	good, offs := walBytes(t, 20)
	last := offs[len(offs)-1]
	for _, tc := range []struct {
		name    string
		head    func() []byte
		rotated []byte // a wal.000 before the head, if set
		ok      bool
	}{
		{"intact", func() []byte { return good }, nil, true},
		{"last entry cut short", func() []byte { return good[:last+5] }, nil, true},
		{"last entry's data cut short", func() []byte { return good[:len(good)-2] }, nil, true},
		{"zeros after the last entry", func() []byte { return append(bytes.Clone(good), make([]byte, 4096)...) }, nil, true},
		{"flipped byte in the middle", func() []byte { b := bytes.Clone(good); b[offs[10]+9] ^= 1; return b }, nil, false},
		{"flipped byte in the last entry", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }, nil, false},
		{"damaged length hiding whole entries", func() []byte { b := bytes.Clone(good); b[offs[15]+6] = 0x0f; return b }, nil, false},
		{"rotated file cut short", func() []byte { return good }, good[:last+5], false},
		{"rotated file intact", func() []byte { return good }, good, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "wal"), tc.head(), 0o600)
			if tc.rotated != nil {
				os.WriteFile(filepath.Join(dir, "wal.000"), tc.rotated, 0o600)
			}
			err := checkWAL(dir)
			var d *DamageError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.As(err, &d):
				t.Fatalf("want damage, got %v", err)
			case !tc.ok:
				t.Log(err)
			}
		})
	}
	if err := checkWAL(t.TempDir()); err != nil {
		t.Fatalf("no WAL yet: %v", err)
	}
}
