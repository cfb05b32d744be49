package app

import (
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/records"
)

// writeBlob commits a blob record (its bytes live outside the chain) and returns its digest.
func (c *erasureCast) writeBlob(h *harness, id string, ck consent.CategoryKey) [32]byte {
	h.t.Helper()
	aad := envelope.AAD(id, 1, c.patient.ID, ck.Category)
	dk, _, err := envelope.Seal([]byte("large "+id), aad)
	if err != nil {
		h.t.Fatal(err)
	}
	m := records.Meta{RecordID: id, Version: 1, Patient: c.patient.ID, Category: ck.Category, ResourceType: "Media",
		ContentType: "image/png", Digest: sha256.Sum256([]byte(id)), Size: records.InlineMax + 1, Blob: true,
		CategoryVersion: ck.Version, AuthorKeyVersion: h.identity(c.provider.ID).KeyVersion}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		h.t.Fatal(err)
	}
	if m.AuthorWrap, err = envelope.WrapKey(c.provider.Keys.EncPublic(), dk, aad); err != nil {
		h.t.Fatal(err)
	}
	h.mustOK(h.sign(c.provider, &records.PutBody{Meta: m}))
	return m.Digest
}

// Each committed block publishes the blob records it wrote and whether it erased any, over
// contiguous ranges of the event log; a rejected write publishes nothing.
func TestCommittedBlocksPublishTheirBlobs(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, "general")
	ch := make(chan BlockBlobs, 16)
	h.app.OnBlobs(ch)
	next := h.st.LastCommit().LogSize
	take := func() BlockBlobs {
		t.Helper()
		select {
		case b := <-ch:
			if b.Height != h.height || b.LogStart != next || b.LogEnd != h.st.LastCommit().LogSize {
				t.Fatalf("block %d published %+v; want height %d, events [%d, %d)", h.height, b, h.height, next, h.st.LastCommit().LogSize)
			}
			next = b.LogEnd
			return b
		default:
			t.Fatalf("block %d published nothing", h.height)
			return BlockBlobs{}
		}
	}

	d := c.writeBlob(h, "r-blob", *ck)
	if b := take(); !slices.Equal(b.Written, [][32]byte{d}) || b.Erasing {
		t.Fatalf("blob write published %+v", b)
	}
	c.write(h, "r-inline", "general", *ck)
	if b := take(); len(b.Written) != 0 || b.Erasing {
		t.Fatalf("inline write published %+v", b)
	}
	h.wantCode(c.patient, &erasure.EraseBody{Record: "nope"}, string(erasure.Space), erasure.CodeNotFound)
	if b := take(); b.Erasing {
		t.Fatalf("a rejected erasure published %+v", b)
	}
	h.mustOK(h.sign(c.patient, &erasure.EraseBody{Record: "r-blob"}))
	b := take()
	if !b.Erasing || len(b.Written) != 0 {
		t.Fatalf("erasure published %+v", b)
	}
	v := h.st.Committed()
	found := false
	for i := b.LogStart; i < b.LogEnd; i++ {
		leaf, err := v.Leaf(i)
		if err != nil {
			t.Fatal(err)
		}
		if ev, err := audit.Decode(leaf); err == nil && ev.Action == audit.RecordErase && ev.Record == "r-blob" {
			found = true
		}
	}
	if !found {
		t.Fatal("the erasure's event is not in the range the block published")
	}

	// Nobody receiving: Commit goes on, and the blocks are only in the log.
	h.app.OnBlobs(make(chan BlockBlobs))
	for range 3 {
		h.mustOK(h.sign(c.patient, &Noop{}))
	}
}
