package records

import (
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TypePutInline writes a record whose ciphertext travels in the transaction. It is
// TypePut's body without the three fields the node derives from the ciphertext (its digest,
// its size and the blob flag), 36 bytes fewer for every inline write. TypePut stays as it
// was, for blob records and for the bodies other transactions embed (an urgent write, a
// trial's results), and so that blocks written with it decode as before.
const TypePutInline tx.Type = 12

// InlinePutBody sends an inline write as TypePutInline.
type InlinePutBody struct{ PutBody }

// Type implements tx.Body.
func (*InlinePutBody) Type() tx.Type { return TypePutInline }

// Encode implements tx.Body.
func (b *InlinePutBody) Encode(w *tx.Writer) {
	m := &b.Meta
	w.String(m.RecordID)
	w.Uvarint(uint64(m.Version))
	w.String(m.Patient)
	w.String(m.Category)
	w.String(m.ResourceType)
	w.String(m.ContentType)
	w.Uvarint(uint64(m.CategoryVersion))
	w.PutBytes(m.PatientWrap)
	w.Uvarint(uint64(m.AuthorKeyVersion))
	w.PutBytes(m.AuthorWrap)
	w.PutBytes(b.Ciphertext)
}

// DecodePutInline parses an inline write into the PutBody it stands for. Its size is the
// ciphertext's; its digest is left for ExecPut to compute, once, when the write executes (a
// transaction is decoded at admission, at every recheck and in its block).
func DecodePutInline(raw []byte) (*PutBody, error) {
	r := tx.NewReader(raw)
	b := &PutBody{}
	m := &b.Meta
	m.RecordID = r.String("record id", 64)
	m.Version = uint32(min(r.Uvarint(), 1<<32-1))
	m.Patient = r.String("patient", 64)
	m.Category = r.String("category", 64)
	m.ResourceType = r.String("resource type", 64)
	m.ContentType = r.String("content type", 128)
	m.CategoryVersion = uint32(min(r.Uvarint(), 1<<32-1))
	m.PatientWrap = r.Bytes("patient wrap", wrapSize)
	m.AuthorKeyVersion = uint32(min(r.Uvarint(), 1<<32-1))
	m.AuthorWrap = r.Bytes("author wrap", wrapSize)
	b.Ciphertext = r.Bytes("ciphertext", InlineMax)
	if err := r.Done(); err != nil {
		return nil, err
	}
	m.Size, b.derived = uint64(len(b.Ciphertext)), true
	return b, nil
}

// Wire is the body to sign for b: an inline write as TypePutInline, a blob record as
// TypePut.
func (b *PutBody) Wire() tx.Body {
	if b.Meta.Blob {
		return b
	}
	return &InlinePutBody{*b}
}
