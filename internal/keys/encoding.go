package keys

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// strictB64 is canonical base64, so a stored value has exactly one textual
// form: any edit to the text either fails to decode or changes the bytes.
var strictB64 = base64.StdEncoding.Strict()

// b64 is a byte slice stored as canonical standard base64 in JSON.
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(strictB64.EncodeToString(b))
}

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	// The decoder skips CR and LF; refuse them so the text stays canonical.
	if strings.ContainsAny(s, "\r\n") {
		return errors.New("line break in base64 value")
	}
	out, err := strictB64.DecodeString(s)
	if err != nil {
		return err
	}
	*b = out
	return nil
}

// appendField appends a 4-byte big-endian length and then data, so a
// sequence of fields has a single parse.
func appendField(dst, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	return append(dst, data...)
}

// reader consumes a byte slice front to back; once short it stays failed so
// callers check ok once at the end.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) take(n int) []byte {
	if !r.ok || n < 0 || len(r.b) < n {
		r.ok = false
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
