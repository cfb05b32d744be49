package records

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// InlineMax is the largest ciphertext carried in a transaction; larger ones go to the blob
// store.
const InlineMax = 64 << 10

// MaxBlob bounds a blob.
const MaxBlob = 256 << 20

// wrapSize is an HPKE (ML-KEM-768+X25519) wrapped 32-byte data key; selfWrapSize is the
// author's own wrap, sealed under a key derived from its private key (envelope.WrapKeyToSelf).
// An author wrap may be either: records written before the self wrap carry HPKE ones.
const (
	wrapSize     = 1168
	selfWrapSize = 60
)

// ValidID reports whether s is an acceptable record id: 1 to 64 letters, digits, '.', '_'
// or '-', starting with a letter or a digit (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, checked by
// hand: every write checks its id, and the regular expression cost more than the check).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// TypePut writes a new record or a new version of one.
const TypePut tx.Type = 10

// Meta is one record version as stored: everything but the ciphertext.
type Meta struct {
	RecordID         string
	Version          uint32
	Patient          string
	Author           string
	Category         string
	ResourceType     string // FHIR resource type, or "Binary" for an attachment
	ContentType      string
	Digest           [32]byte // SHA-256 of the ciphertext
	Size             uint64
	Blob             bool   // ciphertext is in the blob store
	CategoryVersion  uint32 // patient category key version PatientWrap is for
	PatientWrap      []byte // data key wrapped for the patient's category key
	AuthorKeyVersion uint32 // author identity key version AuthorWrap is for
	AuthorWrap       []byte // data key wrapped for the author
	Height           int64
	Time             int64 // block time, unix seconds
}

// PutBody is the write transaction: Meta's client-supplied fields plus the inline
// ciphertext.
type PutBody struct {
	Meta       Meta
	Ciphertext []byte
	derived    bool // decoded from TypePutInline: the digest is the ciphertext's, computed by ExecPut
}

// Type implements tx.Body.
func (*PutBody) Type() tx.Type { return TypePut }

// Encode implements tx.Body.
func (b *PutBody) Encode(w *tx.Writer) {
	b.Meta.encodeClient(w)
	w.PutBytes(b.Ciphertext)
}

func (m *Meta) encodeClient(w *tx.Writer) {
	w.String(m.RecordID)
	w.Uvarint(uint64(m.Version))
	w.String(m.Patient)
	w.String(m.Category)
	w.String(m.ResourceType)
	w.String(m.ContentType)
	w.PutBytes(m.Digest[:])
	w.Uvarint(m.Size)
	w.Bool(m.Blob)
	w.Uvarint(uint64(m.CategoryVersion))
	w.PutBytes(m.PatientWrap)
	w.Uvarint(uint64(m.AuthorKeyVersion))
	w.PutBytes(m.AuthorWrap)
}

func (m *Meta) decodeClient(r *tx.Reader) {
	m.RecordID = r.String("record id", 64)
	m.Version = uint32(min(r.Uvarint(), 1<<32-1))
	m.Patient = r.String("patient", 64)
	m.Category = r.String("category", 64)
	m.ResourceType = r.String("resource type", 64)
	m.ContentType = r.String("content type", 128)
	copy(m.Digest[:], r.Bytes("digest", 32))
	m.Size = r.Uvarint()
	m.Blob = r.Bool()
	m.CategoryVersion = uint32(min(r.Uvarint(), 1<<32-1))
	m.PatientWrap = r.Bytes("patient wrap", wrapSize)
	m.AuthorKeyVersion = uint32(min(r.Uvarint(), 1<<32-1))
	m.AuthorWrap = r.Bytes("author wrap", wrapSize)
}

// DecodePut parses a write body.
func DecodePut(raw []byte) (*PutBody, error) {
	r := tx.NewReader(raw)
	b := &PutBody{}
	b.Meta.decodeClient(r)
	b.Ciphertext = r.Bytes("ciphertext", InlineMax)
	return b, r.Done()
}

// Encode is the stored form of a record version.
func (m *Meta) Encode() []byte {
	w := tx.NewWriter(2600)
	m.encodeClient(w)
	w.String(m.Author)
	w.Varint(m.Height)
	w.Varint(m.Time)
	return w.Bytes()
}

// DecodeMeta parses the stored form.
func DecodeMeta(b []byte) (*Meta, error) {
	r := tx.NewReader(b)
	m := &Meta{}
	m.decodeClient(r)
	m.Author = r.String("author", 64)
	m.Height = r.Varint()
	m.Time = r.Varint()
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("stored record metadata is corrupt: %w", err)
	}
	return m, nil
}

// MetaDigest is the SHA-256 of the stored form; the write's audit event carries it.
func MetaDigest(stored []byte) string {
	h := sha256.Sum256(stored)
	return hex.EncodeToString(h[:])
}

// Index keys (derived from the log, stored beside it).
func versionKey(id string, v uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("r/"+id+"/"), v)
}
func headKey(id string) []byte             { return []byte("rh/" + id) }
func patientKey(patient, id string) []byte { return []byte("rp/" + patient + "/" + id) }
func cipherKey(d [32]byte) []byte          { return append([]byte("ct/"), d[:]...) }
func patientPrefix(patient string) []byte  { return []byte("rp/" + patient + "/") }

// outcomeKey indexes a read's outcome by its request's expiry, then its hash. Requests are
// signed moments before they are sent and expire within MaxRequestAge, so each block's
// outcomes fall at the end of the range, not all over it: pebble moves their tables down
// instead of rewriting them, which keyed by hash alone it did at every level, and a read
// then writes no randomly keyed entry at all.
func outcomeKey(notAfter int64, h [32]byte) []byte {
	return append(binary.BigEndian.AppendUint64([]byte("ro/"), uint64(notAfter)), h[:]...)
}

// requestKey is where releases before outcomeKey kept an outcome: still read, so that a
// request they recorded is not taken again inside its window.
func requestKey(h [32]byte) []byte { return append([]byte("rq/"), h[:]...) }
