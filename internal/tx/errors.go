package tx

import "fmt"

// Error is a rejected transaction: a stable numeric code within a codespace and a message a
// person can act on. Codes are append-only; never renumber one.
type Error struct {
	Codespace string `json:"codespace"`
	Code      uint32 `json:"code"`
	Message   string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s/%d: %s", e.Codespace, e.Code, e.Message) }

// Codespace is a family of error codes owned by one domain package.
type Codespace string

// Err builds a coded error in codespace c.
func (c Codespace) Err(code uint32, format string, args ...any) *Error {
	return &Error{Codespace: string(c), Code: code, Message: fmt.Sprintf(format, args...)}
}

// Space is the codespace of envelope-level rejections.
const Space Codespace = "tx"

// Envelope-level codes.
const (
	CodeMalformed     uint32 = 1 // cannot be decoded
	CodeTooLarge      uint32 = 2 // over MaxTxBytes
	CodeWrongChain    uint32 = 3 // signed for another chain
	CodeUnknownSigner uint32 = 4 // signer not registered
	CodeBadSignature  uint32 = 5 // signature does not verify
	CodeBadSequence   uint32 = 6 // replayed or out-of-order sequence
	CodeInactive      uint32 = 7 // signer deactivated
	CodeUnknownBody   uint32 = 8 // body type not known to this version
	CodeVersion       uint32 = 9 // envelope version not supported
	CodeInternal      uint32 = 10
	CodeDisabled      uint32 = 11 // body type not enabled on this chain
)
