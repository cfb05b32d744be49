package tx

import (
	"encoding/binary"
	"fmt"
)

// Writer appends canonical fields: unsigned varints and length-prefixed byte strings.
type Writer struct{ buf []byte }

// NewWriter returns a Writer with room for n bytes.
func NewWriter(n int) *Writer { return &Writer{buf: make([]byte, 0, n)} }

// Bytes returns the encoding so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Uvarint appends v as an unsigned varint.
func (w *Writer) Uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

// Varint appends v as a zig-zag varint.
func (w *Writer) Varint(v int64) { w.buf = binary.AppendVarint(w.buf, v) }

// Bool appends b as one byte.
func (w *Writer) Bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// PutBytes appends a length-prefixed byte string.
func (w *Writer) PutBytes(b []byte) {
	w.Uvarint(uint64(len(b)))
	w.buf = append(w.buf, b...)
}

// String appends a length-prefixed string.
func (w *Writer) String(s string) {
	w.Uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// Strings appends a count followed by each string.
func (w *Writer) Strings(ss []string) {
	w.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// Reader consumes what a Writer wrote. The first error sticks: callers read every field and
// check Err (or Done) once at the end.
type Reader struct {
	buf []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// Err is the first decoding error, if any.
func (r *Reader) Err() error { return r.err }

// Done reports the first error, or an error if bytes are left over.
func (r *Reader) Done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.buf) != 0 {
		return fmt.Errorf("%d unexpected trailing bytes", len(r.buf))
	}
	return nil
}

// Uvarint reads an unsigned varint, rejecting non-minimal encodings.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		r.fail("non-minimal varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Varint reads a zig-zag varint, rejecting non-minimal encodings.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("truncated or overlong varint")
		return 0
	}
	if n != len(binary.AppendVarint(nil, v)) {
		r.fail("non-minimal varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Bool reads one byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.buf) == 0 {
		r.fail("truncated bool")
		return false
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	if b > 1 {
		r.fail("bool byte %d is not 0 or 1", b)
	}
	return b == 1
}

// Bytes reads a length-prefixed byte string of at most max bytes. The result aliases the input.
func (r *Reader) Bytes(field string, max int) []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail("%s is %d bytes, more than the limit of %d", field, n, max)
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.fail("%s truncated: %d bytes declared, %d present", field, n, len(r.buf))
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(field string, max int) string { return string(r.Bytes(field, max)) }

// Strings reads a counted list of at most maxN strings of at most max bytes each.
func (r *Reader) Strings(field string, maxN, max int) []string {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(maxN) {
		r.fail("%s has %d entries, more than the limit of %d", field, n, maxN)
		return nil
	}
	var out []string
	for i := uint64(0); i < n && r.err == nil; i++ {
		out = append(out, r.String(field, max))
	}
	return out
}
