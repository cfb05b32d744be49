package app

import (
	"encoding/hex"
	"encoding/json"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// A committed transaction's result is kept in the index under its hash, one entry per
// transaction and randomly keyed, so every level of the state database rewrites it as the
// ledger grows: it is kept small. The hash is the key and not repeated in the value, and the
// rest is binary (5 bytes for an accepted transaction, against 110 as JSON). Databases
// written before hold JSON, which starts with '{'; both are read.

// resultFormat opens a binary result value.
const resultFormat = 1

// blockResult is a result of the block being executed, kept until its commit tells the
// watchers.
type blockResult struct {
	hash      [32]byte
	height    int64
	code      uint32
	codespace string
	log       string
}

func (r *blockResult) wire() Result {
	return Result{Hash: hex.EncodeToString(r.hash[:]), Height: r.height, Code: r.code, Codespace: r.codespace, Log: r.log}
}

// resultKey indexes a committed transaction's result by hash. It replaces CometBFT's
// transaction indexer, which would store every transaction a second time.
func resultKey(h [32]byte) []byte { return append([]byte("txr/"), h[:]...) }

// encodeResult is resultFormat, the height and code, the codespace and the log.
func encodeResult(r *blockResult) []byte {
	w := tx.NewWriter(5 + len(r.codespace) + len(r.log) + 4)
	w.Uvarint(resultFormat)
	w.Varint(r.height)
	w.Uvarint(uint64(r.code))
	w.String(r.codespace)
	w.String(r.log)
	return w.Bytes()
}

// decodeResult reads a stored result of the transaction with hash h, in either form.
func decodeResult(h [32]byte, b []byte) (Result, bool) {
	if len(b) > 0 && b[0] == '{' {
		var r Result
		return r, json.Unmarshal(b, &r) == nil
	}
	rd := tx.NewReader(b)
	if rd.Uvarint() != resultFormat {
		return Result{}, false
	}
	r := blockResult{hash: h, height: rd.Varint()}
	code := rd.Uvarint()
	r.codespace, r.log = rd.String("codespace", len(b)), rd.String("log", len(b))
	if rd.Done() != nil || code > 1<<32-1 {
		return Result{}, false
	}
	r.code = uint32(code)
	return r.wire(), true
}

// LookupResult finds a committed transaction's result, or false.
func LookupResult(v interface{ GetIndex([]byte) []byte }, h [32]byte) (Result, bool) {
	b := v.GetIndex(resultKey(h))
	if b == nil {
		return Result{}, false
	}
	return decodeResult(h, b)
}
