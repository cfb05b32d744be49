package records

import (
	"crypto/sha256"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// No hash covers the record index: the app hash commits to the write's audit event, which
// carries the digest of the stored metadata. CheckWritten holds the index to that event, so a
// node can find edited or damaged record metadata without replaying the chain.

// IndexDamage is a record index entry that disagrees with the audit event of its write.
type IndexDamage struct {
	Height  int64 // the height of the write whose entries are damaged
	Record  string
	Version uint32
	Detail  string
}

func (d *IndexDamage) Error() string {
	return fmt.Sprintf("record %s version %d (written at height %d): %s", d.Record, d.Version, d.Height, d.Detail)
}

// IsWrite reports whether ev is the event of a committed record write, the ones CheckWritten
// checks.
func IsWrite(ev *audit.Event) bool {
	return (ev.Action == audit.RecordWrite || ev.Action == audit.RecordAmend) && ev.Outcome == audit.Success && ev.Record != ""
}

// CheckWritten checks the index entries the write of ev left: the stored metadata must hash
// to the event's digest and name the event's patient, category and height; an inline
// ciphertext must hash to the metadata's digest; the record's head must be at least this
// version and point at a stored version; the patient's record list must hold the record
// under its newest version's category. get reads one index entry (nil if absent).
func CheckWritten(get func(key []byte) []byte, ev *audit.Event) error {
	r := indexOnly(get)
	bad := func(format string, args ...any) error {
		return &IndexDamage{Height: ev.Height, Record: ev.Record, Version: ev.Version, Detail: fmt.Sprintf(format, args...)}
	}
	if t := Erased(r, ev.Record); t != nil {
		return checkErased(r, t, ev, bad)
	}
	stored := storedMeta(r, ev.Record, ev.Version)
	if stored == nil {
		return bad("its stored metadata is missing")
	}
	if MetaDigest(stored) != ev.Digest {
		return bad("the stored metadata differs from what the block wrote (its SHA-256 is not the audit event's digest %s)", ev.Digest)
	}
	m, err := DecodeMeta(stored)
	if err != nil {
		return bad("%v", err)
	}
	if m.RecordID != ev.Record || m.Version != ev.Version || m.Patient != ev.Patient || m.Category != ev.Category || m.Height != ev.Height {
		return bad("the stored metadata names another record, patient, category or height than its audit event")
	}
	if !m.Blob {
		c := Ciphertext(r, m)
		if c == nil {
			return bad("its inline ciphertext is missing")
		}
		if sha256.Sum256(c) != m.Digest {
			return bad("its inline ciphertext does not hash to the digest in its metadata")
		}
	}
	head := Head(r, ev.Record)
	if head < ev.Version {
		return bad("the record's head pointer says version %d", head)
	}
	if storedMeta(r, ev.Record, head) == nil {
		return bad("the record's head pointer names version %d, which is not stored", head)
	}
	// An amendment may change the category: the list holds the newest version's.
	if c := get(patientKey(ev.Patient, ev.Record)); head == ev.Version && string(c) != ev.Category {
		return bad("the patient's record list holds it under category %q, not %q", c, ev.Category)
	}
	return nil
}

// indexOnly is an IndexReader over a function reading index entries; the record index
// never reads the state map.
type indexOnly func(key []byte) []byte

func (f indexOnly) GetIndex(key []byte) []byte { return f(key) }
func (indexOnly) Get([]byte) []byte            { return nil }

// checkErased holds an erased record's write event to its tombstone: the tombstone keeps the
// digest the event names, and nothing readable is left.
func checkErased(r IndexReader, t *Tombstone, ev *audit.Event, bad func(string, ...any) error) error {
	v := t.covers(ev.Version)
	switch {
	case v == nil:
		return bad("the record is erased but its tombstone does not list this version")
	case v.MetaDigest != ev.Digest:
		return bad("the tombstone's metadata digest %s is not the audit event's digest %s", v.MetaDigest, ev.Digest)
	case t.Patient != ev.Patient:
		return bad("the tombstone names another patient than the write's audit event")
	case storedMeta(r, ev.Record, ev.Version) != nil:
		return bad("the record is erased but its metadata (with its wrapped keys) is still stored")
	}
	return nil
}
