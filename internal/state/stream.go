package state

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The state stream is the whole committed state of one height as one byte sequence, the
// content of a state-sync snapshot. It is a pure function of the committed state: every
// node at the same height writes the same bytes, so peers serve interchangeable chunks.
//
//	magic "ehrchain-state/1\n"
//	'N' version(uvarint) height(1 byte) key [value if height == 0]   IAVL export, post-order
//	'L' leaf                                                          event log leaves, in order
//	'I' key value                                                     index entries, in key order
//	'C' commit record (JSON)                                          last
//
// Byte strings are a uvarint length and the bytes. The sections come in this order, each at
// most once; a reader refuses anything else.
const streamMagic = "ehrchain-state/1\n"

const (
	tagNode   = 'N'
	tagLeaf   = 'L'
	tagIndex  = 'I'
	tagCommit = 'C'
)

// maxItem bounds one byte string of the stream, so a hostile stream cannot make a reader
// buffer without limit. The largest stored values are inline ciphertexts, far below it.
const maxItem = 64 << 20

// ErrStream is a state stream that is malformed: what a peer sent is not a snapshot.
var ErrStream = errors.New("malformed state stream")

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// streamItem is one decoded item; its byte slices alias the reader's buffer.
type streamItem struct {
	tag        byte
	version    int64
	height     int8
	key, value []byte
}

// errShort means the buffer ends inside an item: more bytes are needed.
var errShort = errors.New("short")

// parseItem decodes the item at the start of b and returns it and its length.
func parseItem(b []byte) (streamItem, int, error) {
	if len(b) == 0 {
		return streamItem{}, 0, errShort
	}
	it := streamItem{tag: b[0]}
	off := 1
	uv := func() (uint64, error) {
		v, n := binary.Uvarint(b[off:])
		if n == 0 {
			return 0, errShort
		}
		if n < 0 {
			return 0, fmt.Errorf("%w: varint overflows", ErrStream)
		}
		off += n
		return v, nil
	}
	bytesField := func() ([]byte, error) {
		n, err := uv()
		if err != nil {
			return nil, err
		}
		if n > maxItem {
			return nil, fmt.Errorf("%w: a %d-byte field exceeds the %d-byte limit", ErrStream, n, maxItem)
		}
		if uint64(len(b)-off) < n {
			return nil, errShort
		}
		v := b[off : off+int(n) : off+int(n)]
		off += int(n)
		return v, nil
	}
	var err error
	switch it.tag {
	case tagNode:
		var v uint64
		if v, err = uv(); err != nil {
			return it, 0, err
		}
		if v == 0 || v > 1<<62 {
			return it, 0, fmt.Errorf("%w: state map node of version %d", ErrStream, v)
		}
		it.version = int64(v)
		if len(b) <= off {
			return it, 0, errShort
		}
		if b[off] > 127 {
			return it, 0, fmt.Errorf("%w: state map node of height %d", ErrStream, b[off])
		}
		it.height = int8(b[off])
		off++
		if it.key, err = bytesField(); err != nil {
			return it, 0, err
		}
		if it.height == 0 {
			if it.value, err = bytesField(); err != nil {
				return it, 0, err
			}
		}
	case tagLeaf, tagCommit:
		if it.value, err = bytesField(); err != nil {
			return it, 0, err
		}
	case tagIndex:
		if it.key, err = bytesField(); err != nil {
			return it, 0, err
		}
		if it.value, err = bytesField(); err != nil {
			return it, 0, err
		}
	default:
		return it, 0, fmt.Errorf("%w: unknown item tag %q", ErrStream, it.tag)
	}
	return it, off, nil
}
