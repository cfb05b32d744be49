package admission

import (
	"encoding/binary"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Space is the codespace of admission refusals.
const Space tx.Codespace = "admission"

// Codes. Append-only.
const (
	CodeOverBytes uint32 = 1 // the identity's bytes for this window are used up
	CodeOverTxs   uint32 = 2 // the identity's transactions for this window are used up
	CodeClosed    uint32 = 3 // patients may not register themselves on this chain
)

// ErrClosed refuses a self-registration on a chain without open registration.
func ErrClosed() *tx.Error {
	return Space.Err(CodeClosed, "patients do not register themselves on this chain: a provider registers a patient with the patient's key (identity register --as <provider> --key <patient> --role patient), as a registration desk proofs identity")
}

// Usage is what one identity has added in its current window.
type Usage struct {
	Window int64 // index of the window: block time in seconds / window length
	Bytes  int64
	Txs    int64
}

// Charge adds one transaction of size bytes, at block time at (seconds), to u, the usage
// of who ("this identity", ...). It returns the new usage, or a refusal saying when the
// window ends; u is unchanged then.
func Charge(who string, l Limit, windowSeconds int64, u Usage, at int64, size int) (Usage, *tx.Error) {
	w := at / windowSeconds
	if w > u.Window {
		u = Usage{Window: w}
	}
	ends := time.Unix((u.Window+1)*windowSeconds, 0).UTC().Format(time.RFC3339)
	if l.Txs > 0 && u.Txs+1 > l.Txs {
		return u, Space.Err(CodeOverTxs, "%s used its %d transactions for the window ending %s; retry after it", who, l.Txs, ends)
	}
	if l.Bytes > 0 && u.Bytes+int64(size) > l.Bytes {
		return u, Space.Err(CodeOverBytes, "%s used %d of its %d bytes for the window ending %s; a %d-byte transaction does not fit, retry after it", who, u.Bytes, l.Bytes, ends, size)
	}
	u.Bytes += int64(size)
	u.Txs++
	return u, nil
}

// Key is where an identity's usage is kept in the state.
func Key(id string) []byte { return []byte("adm/use/" + id) }

// Encode is the usage's 24-byte state value.
func (u Usage) Encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(u.Window))
	b = binary.BigEndian.AppendUint64(b, uint64(u.Bytes))
	return binary.BigEndian.AppendUint64(b, uint64(u.Txs))
}

// DecodeUsage reads a state value; anything but 24 bytes is no usage.
func DecodeUsage(b []byte) Usage {
	if len(b) != 24 {
		return Usage{}
	}
	return Usage{Window: int64(binary.BigEndian.Uint64(b)), Bytes: int64(binary.BigEndian.Uint64(b[8:])),
		Txs: int64(binary.BigEndian.Uint64(b[16:]))}
}

// ChargeAll charges one transaction to every account, or to none: it returns each
// account's new usage, or the first refusal.
func ChargeAll(acc []Account, usage []Usage, windowSeconds int64, at int64, size int) ([]Usage, *tx.Error) {
	out := make([]Usage, len(acc))
	for i, a := range acc {
		u, err := Charge(a.Who, a.Limit, windowSeconds, usage[i], at, size)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.TooMany, map[uint32]tx.Class{CodeClosed: tx.Forbidden})
}
