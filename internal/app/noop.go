package app

import "github.com/ehrchain/ehrchain/internal/tx"

// TypeNoop is a signed transaction that does nothing but pass the envelope checks and
// advance the signer's sequence. It is the baseline the benchmarks compare against.
const TypeNoop tx.Type = 1

// Noop is the baseline body: an opaque payload.
type Noop struct{ Payload []byte }

// Type implements tx.Body.
func (*Noop) Type() tx.Type { return TypeNoop }

// Encode implements tx.Body.
func (b *Noop) Encode(w *tx.Writer) { w.PutBytes(b.Payload) }

func decodeNoop(raw []byte) (*Noop, error) {
	r := tx.NewReader(raw)
	b := &Noop{Payload: r.Bytes("payload", tx.MaxTxBytes)}
	return b, r.Done()
}
