package wire

import (
	"errors"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// SubmitRequest is the body of POST /v1/tx.
type SubmitRequest struct {
	Tx   string `json:"tx"`   // base64 of the wire transaction
	Wait bool   `json:"wait"` // wait for the block to commit
}

// SubmitBatchRequest is the body of POST /v1/txs: transactions admitted in order, none
// waited for.
type SubmitBatchRequest struct {
	Txs []string `json:"txs"` // base64 wire transactions
}

// SubmitBatchResponse holds one result per transaction admitted, in order. Admission
// stops at the first refusal, whose result (or error) is the last one; a transaction of
// the same signer after it would fail its sequence check anyway.
type SubmitBatchResponse struct {
	Results []Result  `json:"results"`
	Error   *tx.Error `json:"error,omitempty"` // the mempool refused the last transaction (full: retry from there)
}

// Result is the outcome of one transaction: admitted (Height 0) or committed.
type Result struct {
	Hash      string `json:"hash"`
	Height    int64  `json:"height"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	Log       string `json:"log,omitempty"`
}

// TxError is the error body of a rejected transaction: the coded error plus its hash and,
// when it was rejected inside a block, the height.
type TxError struct {
	tx.Error
	Hash   string `json:"hash"`
	Height int64  `json:"height,omitempty"`
}

// ErrMempool is returned when the mempool refuses a transaction for reasons other than the
// application's checks (full, duplicate). The API answers it with 503; it lives here so the
// API knows it without importing the node.
var ErrMempool = errors.New("mempool refused the transaction")
