package records

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// A read's outcome is kept in the index under its request's hash, one entry per read and
// randomly keyed, so every level of the state database rewrites it as the ledger grows: it
// is stored in binary (about 60 bytes, against 230 as JSON), with the transaction's hash as
// its 32 bytes rather than in hex. Databases written before hold JSON, which starts with
// '{'; both are read.

// outcomeFormat opens a binary outcome.
const outcomeFormat = 1

// The flags byte of a binary outcome.
const (
	outcomeAllowed = 1 << iota
	outcomeTxHash  // the Tx field is the hex of the 32 bytes stored
)

// encodeOutcome is outcomeFormat, the flags, then the fields in their declared order.
func encodeOutcome(o *Outcome) []byte {
	w := tx.NewWriter(64 + len(o.Reason) + len(o.Grant) + len(o.Emergency) + len(o.Rule))
	w.Uvarint(outcomeFormat)
	var flags uint64
	if o.Allowed {
		flags |= outcomeAllowed
	}
	txField := []byte(o.Tx)
	if h, err := hex.DecodeString(o.Tx); err == nil && len(h) == 32 && hex.EncodeToString(h) == o.Tx {
		flags, txField = flags|outcomeTxHash, h
	}
	w.Uvarint(flags)
	w.String(o.Reason)
	w.String(o.Grant)
	w.Uvarint(o.Event)
	w.Varint(o.Height)
	w.PutBytes(txField)
	w.Varint(o.Time.Unix())
	w.Uvarint(uint64(o.Time.Nanosecond()))
	w.Uvarint(uint64(o.Version))
	w.String(o.Emergency)
	w.String(o.Rule)
	return w.Bytes()
}

// decodeOutcome reads a stored outcome in either form.
func decodeOutcome(b []byte) (*Outcome, error) {
	var o Outcome
	if len(b) > 0 && b[0] == '{' {
		return &o, json.Unmarshal(b, &o)
	}
	r := tx.NewReader(b)
	if f := r.Uvarint(); r.Err() == nil && f != outcomeFormat {
		return nil, fmt.Errorf("stored read outcome in unknown form %d", f)
	}
	flags := r.Uvarint()
	o.Allowed = flags&outcomeAllowed != 0
	o.Reason, o.Grant = r.String("reason", len(b)), r.String("grant", len(b))
	o.Event, o.Height = r.Uvarint(), r.Varint()
	txField := r.Bytes("tx", len(b))
	if flags&outcomeTxHash != 0 {
		o.Tx = hex.EncodeToString(txField)
	} else {
		o.Tx = string(txField)
	}
	sec, nsec := r.Varint(), r.Uvarint()
	version := r.Uvarint()
	o.Emergency, o.Rule = r.String("emergency", len(b)), r.String("rule", len(b))
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("stored read outcome: %w", err)
	}
	if flags > outcomeAllowed|outcomeTxHash || nsec >= 1e9 || version > 1<<32-1 || (flags&outcomeTxHash != 0 && len(txField) != 32) {
		return nil, fmt.Errorf("stored read outcome holds a field out of range")
	}
	o.Time, o.Version = time.Unix(sec, int64(nsec)).UTC(), uint32(version)
	return &o, nil
}
