package wire

import "github.com/ehrchain/ehrchain/internal/supply"

// CaptureRequest is POST /epcis/capture: a signed supply capture transaction (base64)
// wrapping the EPCISDocument, as records are written: the partner's key signs the
// document's bytes.
type CaptureRequest struct {
	Tx string `json:"tx"`
}

// CaptureResponse is the committed capture: each event's Event Hash ID and whether the
// ledger held it already.
type CaptureResponse struct {
	Hash   string                 `json:"hash"`
	Height int64                  `json:"height"`
	Events []supply.CapturedEvent `json:"events"`
}

// EPCISEventResponse is one stored event.
type EPCISEventResponse struct {
	Event  *supply.StoredEvent `json:"event"`
	Height int64               `json:"height"` // the state height answered from
}
