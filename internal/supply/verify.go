package supply

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Public is what anyone may learn of an item, lot or unit: whether it is genuine and may
// be sold, never who holds it or where it went (that is its trading partners' commercial
// data). The contract writes it beside each custody record, so a verification answer
// proves exactly this and nothing more.
type Public struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Lot         string `json:"lot,omitempty"`
	Expiry      string `json:"expiry,omitempty"`
	Quarantined bool   `json:"quarantined,omitempty"`
}

// PublicKey is the state key of an item's public record.
func PublicKey(id string) []byte { return []byte("supply/pub/" + id) }

// PublicOf is the public part of a custody record.
func PublicOf(it *Item) *Public {
	return &Public{ID: it.ID, Status: it.Status, Lot: it.Lot, Expiry: it.Expiry, Quarantined: it.Quarantined}
}

// GetPublic loads the public record of canon, or nil.
func GetPublic(r identity.Reader, canon string) *Public {
	return tx.LoadJSON[Public](r, PublicKey(canon), "supply")
}

// DecodePublic decodes a proven public record (nil bytes: none).
func DecodePublic(b []byte) (*Public, error) {
	if b == nil {
		return nil, nil
	}
	var p Public
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("public record: %w", err)
	}
	return &p, nil
}

// Verification answers, most urgent first: a pack that is suspect, recalled or expired
// must not reach a patient, whatever else is true of it.
const (
	AnswerGenuine   = "genuine"
	AnswerUnknown   = "unknown"
	AnswerSuspect   = "suspect"
	AnswerRecalled  = "recalled"
	AnswerExpired   = "expired"
	AnswerDispensed = "dispensed"
)

// Verdict is the answer to a scanned code, with why.
type Verdict struct {
	Answer string `json:"answer"`
	Detail string `json:"detail"`
}

// Judge answers a code from the public records of its item and of the item's lot (nil:
// none on the ledger) at the time of the latest block. It is pure, so a client that was
// given the proven records reaches the same answer offline.
func Judge(c Code, item, lot *Public, now time.Time) Verdict {
	exp := c.ExpiryDate(now)
	switch {
	case item == nil:
		return Verdict{AnswerUnknown, "no pack with this GTIN and serial number was ever commissioned on the ledger"}
	case item.Quarantined:
		return Verdict{AnswerSuspect, "the pack is quarantined: a suspect-product event names it"}
	case item.Status == StatusVoid:
		return Verdict{AnswerSuspect, "the event that commissioned the pack was declared erroneous by the partner that captured it"}
	case item.Status == StatusUnknown:
		return Verdict{AnswerSuspect, "the serial number was seen in the supply chain but never commissioned by its manufacturer"}
	case c.Lot != "" && item.Lot != "" && c.LotID() != item.Lot:
		return Verdict{AnswerSuspect, fmt.Sprintf("the code's lot %s is not the lot the pack was commissioned with", c.Lot)}
	case c.Lot != "" && item.Lot == "":
		return Verdict{AnswerSuspect, fmt.Sprintf("the code names lot %s, but the pack was commissioned without one", c.Lot)}
	case exp != "" && item.Expiry != "" && exp != item.Expiry:
		return Verdict{AnswerSuspect, fmt.Sprintf("the code's expiry %s is not the pack's commissioned expiry %s", exp, item.Expiry)}
	case item.Status == StatusRecalled || (lot != nil && lot.Status == StatusRecalled):
		return Verdict{AnswerRecalled, "the pack or its lot is recalled by its manufacturer: do not dispense or use it"}
	}
	if exp == "" {
		exp = item.Expiry
	}
	today := now.UTC().Format(time.DateOnly)
	switch {
	case exp != "" && exp < today:
		return Verdict{AnswerExpired, fmt.Sprintf("the pack expired on %s (the ledger's latest block is of %s)", exp, today)}
	case item.Status == StatusDispensed:
		return Verdict{AnswerDispensed, "the pack was already dispensed to a patient: a second one with this code is a copy"}
	case item.Status == StatusDecommissioned, item.Status == StatusDestroyed, item.Status == StatusConsumed:
		return Verdict{AnswerSuspect, fmt.Sprintf("the pack was %s and must no longer be in circulation", item.Status)}
	}
	return Verdict{AnswerGenuine, "the pack was commissioned by the owner of its GTIN and its chain of custody is intact"}
}
