package app

import (
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TypeNoop is a signed transaction that does nothing but pass the envelope checks and
// advance the signer's sequence. It is the baseline the benchmarks compare against, and
// exists only on chains whose genesis sets allow_noop.
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

// noopKey marks, in the state, a chain created with allow_noop.
var noopKey = []byte("param/allow_noop")

// checkNoop refuses a no-op on a chain that does not enable it.
func checkNoop(r identity.Reader) *tx.Error {
	if r.Get(noopKey) == nil {
		return tx.Space.Err(tx.CodeDisabled, "the no-op transaction is enabled only on benchmark chains (genesis allow_noop); this chain refuses it")
	}
	return nil
}
