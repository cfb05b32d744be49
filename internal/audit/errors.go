package audit

import "github.com/ehrchain/ehrchain/internal/tx"

// Space is the audit codespace: rejections of audit queries.
const Space tx.Codespace = "audit"

// Codes. Append-only.
const (
	CodeUnauthorized uint32 = 1 // the requester's role may not see the events asked for
	CodeInvalid      uint32 = 2 // a filter field is missing or malformed
	CodeExpired      uint32 = 3 // not_after has passed or lies too far ahead
	CodeReplayed     uint32 = 4 // this exact signed query was already answered
	CodeBusy         uint32 = 5 // too many unexpired queries remembered; retry shortly
)

// The HTTP class of each code (see tx.Class).
func init() {
	tx.Classify(Space, tx.Invalid, map[uint32]tx.Class{
		CodeUnauthorized: tx.Forbidden, CodeExpired: tx.Unauthenticated, CodeReplayed: tx.Conflict, CodeBusy: tx.Unavailable,
	})
}
