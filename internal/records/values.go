package records

import "encoding/binary"

// The large values of a write (a version's stored metadata, about 2.5 KB with its two key
// wraps, and an inline ciphertext) are kept under keys that grow with every write, and
// reached through an 8-byte pointer under their lookup key. Keyed by record id or digest
// they would land at random places in the state database's LSM tree and be rewritten at
// every level as it grows; appended in key order, compaction mostly moves them whole.

// valueCounterKey holds the sequence number the next value gets.
var valueCounterKey = []byte("rn")

func valueKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("rv/"), seq) }

// putValue appends value to the value sequence and points lookup at it.
func putValue(st Store, lookup, value []byte) {
	var seq uint64
	if b := st.GetIndex(valueCounterKey); len(b) == 8 {
		seq = binary.BigEndian.Uint64(b)
	}
	st.PutIndex(valueKey(seq), value)
	st.PutIndex(lookup, binary.BigEndian.AppendUint64(nil, seq))
	st.PutIndex(valueCounterKey, binary.BigEndian.AppendUint64(nil, seq+1))
}

// getValue follows lookup's pointer, or returns nil.
func getValue(r IndexReader, lookup []byte) []byte {
	p := r.GetIndex(lookup)
	if len(p) != 8 {
		return nil
	}
	return r.GetIndex(valueKey(binary.BigEndian.Uint64(p)))
}
