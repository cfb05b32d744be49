package wire

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the codespace of errors raised by the API layer itself.
const Space tx.Codespace = "api"

// API-level codes. Append-only.
const (
	CodeBadRequest  uint32 = 1
	CodeNotFound    uint32 = 2
	CodeUnavailable uint32 = 3
	CodeTimeout     uint32 = 4
	CodeInternal    uint32 = 5
	CodeForbidden   uint32 = 6 // the caller may not use this endpoint
	CodeBusy        uint32 = 7 // the connection was refused: too many open (answered 429 or 503 by the listener)
	CodePruned      uint32 = 8 // the block asked for was pruned from this node (410)
)
