package app

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/records"
)

// TestWritesInOneBlockSeeEachOther: the block's lookups are read ahead from the last commit,
// but a transaction sees what an earlier one in the same block wrote: a new record and its
// amendment, and two amendments of a committed record, each in one block. Replays of the
// blocks agree.
func TestWritesInOneBlockSeeEachOther(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	put := func(id string, v uint32) []byte {
		t.Helper()
		signed, _ := c.put(h, id, v, "general", *consent.CurrentKey(h.st, c.patient.ID, "general"), "version of "+id)
		return signed
	}
	h.mustOK(put("r-new", 1), put("r-new", 2))
	h.mustOK(put("r-gen", 2), put("r-gen", 3))
	for id, head := range map[string]uint32{"r-new": 2, "r-gen": 3} {
		if got := records.Head(h.st, id); got != head {
			t.Fatalf("%s is at version %d, want %d", id, got, head)
		}
	}
	// A second write of a version the block already wrote is refused, as across blocks.
	if r := h.block(put("r-twice", 1), put("r-twice", 1)); r[0].Code != 0 || r[1].Code == 0 {
		t.Fatalf("writing version 1 twice in one block gave codes %d and %d", r[0].Code, r[1].Code)
	}
	replayTwice(t, h)
}
