package app

import (
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/state"
)

// writeKeysBlock is how many transactions the key counts below are taken over, in one block.
const writeKeysBlock = 200

// maxRecordIndexKeys is the record index keys a new inline record writes.
const maxRecordIndexKeys = 4

// maxLogKeys is the event log keys a block of writeKeysBlock records writes: one entry per
// event (the leaf and the node hashes it completed) and the log's state record.
const maxLogKeys = writeKeysBlock + 1

// blockWrites commits txs in one block and returns the keys its commit wrote.
func blockWrites(t *testing.T, h *harness, txs [][]byte) state.Writes {
	t.Helper()
	for i, r := range h.block(txs...) {
		if r.Code != 0 {
			t.Fatalf("tx %d rejected: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
	}
	return h.st.LastWrites()
}

// TestWriteKeysPerRecord counts the state database keys a block of new inline records
// writes, against a block of as many no-ops by the same signer: what the record adds to
// what every transaction writes (its signer's sequence, its result). The bound is the count
// the record index was cut to; a change that writes more per record fails here.
func TestWriteKeysPerRecord(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, "general")
	noops := make([][]byte, writeKeysBlock)
	for i := range noops {
		noops[i] = h.sign(c.provider, &Noop{})
	}
	base := blockWrites(t, h, noops)
	kv := h.identity(c.provider.ID).KeyVersion
	puts := make([][]byte, writeKeysBlock)
	for i := range puts {
		b, _, err := client.SealFor(c.provider, kv, *ck, client.NewRecord{ID: fmt.Sprintf("r-%03d", i), Version: 1,
			Patient: c.patient.ID, Category: "general", ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: []byte("observation")})
		if err != nil {
			t.Fatal(err)
		}
		puts[i] = h.sign(c.provider, b.Wire())
	}
	w := blockWrites(t, h, puts)
	per := func(n int) float64 { return float64(n) / writeKeysBlock }
	t.Logf("keys a transaction writes, over a block of %d: no-op %.2f (map %.2f, log %.2f, index %.2f); new record %.2f (map %.2f, log %.2f, index %.2f)",
		writeKeysBlock, per(base.Total()), per(base.Tree), per(base.Log), per(base.Index), per(w.Total()), per(w.Tree), per(w.Log), per(w.Index))
	if idx := per(w.Index - base.Index); idx > maxRecordIndexKeys {
		t.Fatalf("a new record writes %.2f index keys more than a no-op, want at most %d", idx, maxRecordIndexKeys)
	}
	if w.Log > maxLogKeys || w.Log < writeKeysBlock {
		t.Fatalf("a block of %d records wrote %d event log keys, want %d to %d", writeKeysBlock, w.Log, writeKeysBlock, maxLogKeys)
	}
}
