package records

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/access"
)

// Erasure (crypto-shredding) drops what makes a record readable: its stored metadata (with
// both wrapped data keys) and its inline ciphertext. What stays is a Tombstone, the record's
// digests and the audit events of everything done to it: the write's event still names the
// digest of the metadata it stored, and the tombstone lists that digest so the index can still
// be checked against the log (CheckWritten). Blob ciphertexts are deleted by each node from
// its blob store once the erasure commits (BlobErased tells the replicator not to fetch one
// again).

// ErasedVersion is what remains of one erased record version: no key, no ciphertext.
type ErasedVersion struct {
	Version      uint32 `json:"version"`
	Category     string `json:"category"`
	ResourceType string `json:"resource_type"`
	Author       string `json:"author"`
	Height       int64  `json:"height"`         // of the write
	MetaDigest   string `json:"meta_digest"`    // SHA-256 of the stored metadata (the write event's digest)
	Digest       string `json:"digest"`         // SHA-256 of the ciphertext, hex
	Blob         bool   `json:"blob,omitempty"` // the ciphertext was in the blob store
	Size         uint64 `json:"size"`
}

// Tombstone marks an erased record. It is an index entry like the metadata it replaces; the
// erasure's audit event carries its digest.
type Tombstone struct {
	RecordID string          `json:"record_id"`
	Patient  string          `json:"patient"`
	Height   int64           `json:"height"` // of the erasure
	Time     int64           `json:"time"`   // block time of the erasure, unix seconds
	Tx       string          `json:"tx"`
	By       string          `json:"by"`     // the identity that erased it (or "retention")
	Reason   string          `json:"reason"` // what was asked: a record, a category, the chart, retention
	Versions []ErasedVersion `json:"versions"`
}

// Encode is the stored form.
func (t *Tombstone) Encode() []byte {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	return b
}

// Digest is the SHA-256 of the stored form, hex; the erasure event carries it.
func (t *Tombstone) Digest() string {
	h := sha256.Sum256(t.Encode())
	return hex.EncodeToString(h[:])
}

// Category is the category of the newest erased version.
func (t *Tombstone) Category() string {
	if len(t.Versions) == 0 {
		return ""
	}
	return t.Versions[len(t.Versions)-1].Category
}

// covers finds the erased version v, or nil.
func (t *Tombstone) covers(v uint32) *ErasedVersion {
	for i := range t.Versions {
		if t.Versions[i].Version == v {
			return &t.Versions[i]
		}
	}
	return nil
}

func tombKey(id string) []byte      { return []byte("rx/" + id) }
func blobGoneKey(d [32]byte) []byte { return append([]byte("bx/"), d[:]...) }

// Erased loads a record's tombstone, or nil if it was not erased.
func Erased(r IndexReader, id string) *Tombstone {
	b := r.GetIndex(tombKey(id))
	if b == nil {
		return nil
	}
	var t Tombstone
	if err := json.Unmarshal(b, &t); err != nil {
		panic(fmt.Errorf("tombstone of record %s is corrupt: %w", id, err))
	}
	return &t
}

// BlobErased reports whether the blob with digest d belonged to an erased record: no node
// may fetch it again.
func BlobErased(r IndexReader, d [32]byte) bool { return r.GetIndex(blobGoneKey(d)) != nil }

// EraseStore is the state erasure changes: the record index, entries removed.
type EraseStore interface {
	Store
	DeleteIndex(key []byte)
}

// Erase drops every version of record id (which must exist and not be erased) and leaves
// its tombstone, filled in from t (who, when, why). It returns the tombstone stored.
func Erase(st EraseStore, id string, t Tombstone) *Tombstone {
	t.RecordID = id
	t.Versions = nil
	head := Head(st, id)
	for v := uint32(1); v <= head; v++ {
		m := Version(st, id, v)
		if m == nil {
			continue
		}
		t.Patient = m.Patient
		stored := storedMeta(st, id, v)
		t.Versions = append(t.Versions, ErasedVersion{Version: v, Category: m.Category, ResourceType: m.ResourceType,
			Author: m.Author, Height: m.Height, MetaDigest: MetaDigest(stored), Digest: hex.EncodeToString(m.Digest[:]),
			Blob: m.Blob, Size: m.Size})
		li, inEntry := versionEntry(st, id, v)
		if h, hli, ok := headEntry(st, id); ok && h == v {
			st.DeleteIndex(recordValueKey(hli))
		} else {
			deleteValue(st, versionKey(id, v))
		}
		if m.Blob {
			st.PutIndex(blobGoneKey(m.Digest), []byte(id))
		} else {
			deleteDigestPointer(st, m.Digest, li, inEntry)
		}
	}
	if _, _, ok := headEntry(st, id); ok {
		// The head stays, pointing at nothing: a head entry that points at a record entry
		// means the record is not erased (values.go), and readers skip the tombstone lookup.
		st.PutIndex(headKey(id), binary.BigEndian.AppendUint32(nil, head))
	}
	st.DeleteIndex(patientKey(t.Patient, id))
	st.PutIndex(tombKey(id), t.Encode())
	return &t
}

// deleteDigestPointer removes the pointer from a ciphertext's digest that writes before
// this version left (writes now leave none: the version's own pointers find its entry). A
// pointer into another record's entry stays, with that entry: the other record was written
// with the same ciphertext, and erasing this one must not take it.
func deleteDigestPointer(st EraseStore, d [32]byte, li uint64, inEntry bool) {
	k := cipherKey(d)
	switch p := st.GetIndex(k); {
	case len(p) == 9 && (!inEntry || binary.BigEndian.Uint64(p) != li):
		// into another record's entry: it stays
	case len(p) == 9:
		st.DeleteIndex(k) // the entry it points into is deleted already
	default:
		deleteValue(st, k)
	}
}

// deleteValue removes the value lookup points at (in either layout), and the pointer. A
// record entry holds both of a version's values: deleting it through either pointer
// removes both.
func deleteValue(st EraseStore, lookup []byte) {
	switch p := st.GetIndex(lookup); len(p) {
	case 8:
		st.DeleteIndex(valueKey(binary.BigEndian.Uint64(p)))
	case 9:
		st.DeleteIndex(recordValueKey(binary.BigEndian.Uint64(p)))
	}
	st.DeleteIndex(lookup)
}

// facts is what the access decision sees of an erased record.
func (t *Tombstone) facts() *access.Record {
	r := &access.Record{ID: t.RecordID, Patient: t.Patient, Category: t.Category(), ErasedAt: t.Height}
	if n := len(t.Versions); n > 0 {
		r.Author, r.ResourceType = t.Versions[n-1].Author, t.Versions[n-1].ResourceType
	}
	return r
}

// indexed is r as an IndexReader when it reads the index (every state a write is judged
// on does); otherwise nothing is erased in it.
func indexed(r interface{ Get([]byte) []byte }) IndexReader {
	if ir, ok := r.(IndexReader); ok {
		return ir
	}
	return noIndex{}
}

type noIndex struct{}

func (noIndex) Get([]byte) []byte      { return nil }
func (noIndex) GetIndex([]byte) []byte { return nil }

// KeyLister lists index keys under a prefix in the working state of a block.
type KeyLister interface {
	IndexKeys(prefix []byte) [][]byte
}

// PatientRecordIDs lists the ids of a patient's records (erased ones are no longer listed)
// inside a block, in id order.
func PatientRecordIDs(l KeyLister, patient string) []string {
	p := patientPrefix(patient)
	keys := l.IndexKeys(p)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = string(k[len(p):])
	}
	return ids
}
