package records

import (
	"encoding/binary"
)

// The large values of a write (a version's stored metadata, about 1.4 KB with its key wraps,
// and an inline ciphertext) are kept under keys that grow with every write, so that the
// state database's LSM tree appends them in key order instead of placing them at random
// (keyed by record id or digest) and rewriting them at every level as it grows.
//
// A write stores both in one entry, keyed by the log index of its audit event, which is
// unique and grows with every write: "rw/<log index>" holds the metadata's length, the
// metadata and the ciphertext. The record's head entry ("rh/<id>") holds the head version
// and the log index of its entry, so a new record writes four index keys: that entry, its
// head, the patient's record list and the ciphertext's digest pointer (to the entry). When a
// record is amended, the version it supersedes gets its own pointer ("r/<id>/<version>").
//
// Writes from before held each value under "rv/<sequence>" from a counter ("rn"), with an
// 8-byte pointer under the version key and under the digest key, and a 4-byte head; they
// are read as they are.

func recordValueKey(li uint64) []byte { return binary.BigEndian.AppendUint64([]byte("rw/"), li) }

// Parts of a record entry a pointer names.
const (
	partMeta       = 0
	partCiphertext = 1
)

// pointer names a part of the record entry of log index li.
func pointer(li uint64, part byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, li), part)
}

// headValue is a record's head entry: the head version and, for writes since record entries,
// the log index of its entry.
func headValue(v uint32, li uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, v), li)
}

// recordEntry is the stored form of one write's values.
func recordEntry(meta, ct []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(meta)+len(ct))
	b = binary.AppendUvarint(b, uint64(len(meta)))
	return append(append(b, meta...), ct...)
}

// splitEntry splits a record entry into its metadata and ciphertext; nil, nil if it is not
// one.
func splitEntry(e []byte) (meta, ct []byte) {
	n, k := binary.Uvarint(e)
	if k <= 0 || uint64(len(e)-k) < n {
		return nil, nil
	}
	return e[k : k+int(n)], e[k+int(n):]
}

// entryPart reads one part of the record entry of log index li, or nil.
func entryPart(r IndexReader, li uint64, part byte) []byte {
	meta, ct := splitEntry(r.GetIndex(recordValueKey(li)))
	if part == partMeta || meta == nil {
		return meta
	}
	return ct
}

// valueKey is a value's key in the earlier layout.
func valueKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("rv/"), seq) }

// getValue follows lookup's pointer (either layout), or returns nil.
func getValue(r IndexReader, lookup []byte) []byte {
	p := r.GetIndex(lookup)
	switch len(p) {
	case 8:
		return r.GetIndex(valueKey(binary.BigEndian.Uint64(p)))
	case 9:
		return entryPart(r, binary.BigEndian.Uint64(p), p[8])
	}
	return nil
}

// headEntry reads a record's head: its version (0 if none) and, if the head entry points
// at a record entry, that entry's log index (ok). Erase leaves a head without one, so a
// record whose head has one is not erased.
func headEntry(r IndexReader, id string) (v uint32, li uint64, ok bool) {
	b := r.GetIndex(headKey(id))
	if len(b) < 4 {
		return 0, 0, false
	}
	v = binary.BigEndian.Uint32(b)
	if len(b) == 12 {
		return v, binary.BigEndian.Uint64(b[4:]), true
	}
	return v, 0, false
}

// versionEntry is the log index of the record entry holding version v of record id, if it
// is held in one.
func versionEntry(r IndexReader, id string, v uint32) (li uint64, ok bool) {
	if h, li, ok := headEntry(r, id); ok && h == v {
		return li, true
	}
	if p := r.GetIndex(versionKey(id, v)); len(p) == 9 {
		return binary.BigEndian.Uint64(p), true
	}
	return 0, false
}

// storedMeta is the stored metadata of version v of record id, or nil.
func storedMeta(r IndexReader, id string, v uint32) []byte {
	if h, li, ok := headEntry(r, id); ok && h == v {
		return entryPart(r, li, partMeta)
	}
	return getValue(r, versionKey(id, v))
}
