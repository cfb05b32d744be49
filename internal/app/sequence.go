package app

import "encoding/binary"

// seqKey holds an account's next expected sequence number.
func seqKey(id string) []byte { return []byte("seq/" + id) }

type getter interface{ Get(key []byte) []byte }

// nextSequence is the sequence the signer's next transaction must carry.
func nextSequence(r getter, id string) uint64 {
	b := r.Get(seqKey(id))
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putSequence(w interface{ Set(k, v []byte) }, id string, next uint64) {
	w.Set(seqKey(id), binary.BigEndian.AppendUint64(nil, next))
}

// NextSequence is exported for queries.
func NextSequence(r getter, id string) uint64 { return nextSequence(r, id) }
