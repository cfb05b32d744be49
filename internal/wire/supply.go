package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/ehrchain/ehrchain/internal/supply"
)

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

// TraceResponse is GET /epcis/items/{epc}/trace: the chain of custody of one item, each
// record and event with a proof of its state value at Height. Verify checks it offline.
type TraceResponse struct {
	Item      string        `json:"item"` // the canonical GS1 Digital Link the item is keyed by
	Height    int64         `json:"height"`
	AppHash   []byte        `json:"app_hash"` // what the node says the state at Height hashes to
	Items     []ProvenItem  `json:"items"`    // the item's record first, then the units it was inside
	Events    []TracedEvent `json:"events"`   // in ledger order
	Truncated bool          `json:"truncated,omitempty"`
}

// ProvenItem is an item's custody record, the exact state value it was decoded from and
// the value's proof.
type ProvenItem struct {
	Item  *supply.Item `json:"item"`
	Value []byte       `json:"value"`
	Proof *Proof       `json:"proof"`
}

// TracedEvent is one event of a trace: via is the record whose history holds it (the
// item, or a case or pallet it was inside).
type TracedEvent struct {
	HashID string              `json:"hash_id"`
	Via    string              `json:"via"`
	Event  *supply.StoredEvent `json:"event"`
	Value  []byte              `json:"value"`
	Proof  *Proof              `json:"proof"`
}

// Verify checks a trace offline against the app hash the caller trusts: every record and
// event is the proven state value under its own key, the shown records are those values,
// each event is in the history of a proven record, and (unless truncated) every event of
// the item's own history is in the trace.
func (t *TraceResponse) Verify(appHash []byte) error {
	if len(t.Items) == 0 || t.Items[0].Item == nil || t.Items[0].Item.ID != t.Item {
		return fmt.Errorf("the trace does not begin with the record of %s", t.Item)
	}
	history := map[string]bool{}
	for i, p := range t.Items {
		if p.Item == nil {
			return fmt.Errorf("record %d is empty", i)
		}
		if err := p.Proof.Verify(appHash, supply.ItemKey(p.Item.ID), p.Value); err != nil {
			return fmt.Errorf("record of %s: %w", p.Item.ID, err)
		}
		if err := sameJSON(p.Value, p.Item); err != nil {
			return fmt.Errorf("record of %s: %w", p.Item.ID, err)
		}
		for _, d := range p.Item.Events {
			history[p.Item.ID+" "+d] = true
		}
	}
	traced := map[string]bool{}
	for i, e := range t.Events {
		d := supply.Digest(e.HashID)
		if d == "" || e.Event == nil || e.Event.HashID != e.HashID {
			return fmt.Errorf("event %d (%q) is not an event under its Event Hash ID", i, e.HashID)
		}
		if err := e.Proof.Verify(appHash, supply.EventKey(d), e.Value); err != nil {
			return fmt.Errorf("event %s: %w", e.HashID, err)
		}
		if err := sameJSON(e.Value, e.Event); err != nil {
			return fmt.Errorf("event %s: %w", e.HashID, err)
		}
		if !history[e.Via+" "+d] {
			return fmt.Errorf("event %s is not in the proven history of %s", e.HashID, e.Via)
		}
		traced[d] = true
	}
	if !t.Truncated {
		for _, d := range t.Items[0].Item.Events {
			if !traced[d] {
				return fmt.Errorf("event %s of %s's own history is missing from the trace", d, t.Item)
			}
		}
	}
	return nil
}

// sameJSON says whether shown is what value decodes to (compared as compact JSON: the
// event inside a stored event is raw JSON, which an indented answer re-spaces).
func sameJSON(value []byte, shown any) error {
	fresh := reflect.New(reflect.TypeOf(shown).Elem()).Interface()
	if err := json.Unmarshal(value, fresh); err != nil {
		return fmt.Errorf("the proven value does not decode: %w", err)
	}
	a, errA := json.Marshal(fresh)
	b, errB := json.Marshal(shown)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return errors.New("the shown value is not the proven one")
	}
	return nil
}

// SuspectsResponse is one page of GET /epcis/suspects: suspect-product events in ledger
// order, all of them for a regulator, those involving the partner for a partner.
type SuspectsResponse struct {
	Height   int64             `json:"height"`
	Suspects []*supply.Suspect `json:"suspects"`
	Next     string            `json:"next,omitempty"` // pass as after= for the next page; empty at the end
}

// VerifyResponse is GET /epcis/verify: the answer to a scanned code, with the public
// records it was judged from and their proofs (of absence when the ledger has none).
type VerifyResponse struct {
	Code      supply.Code    `json:"code"`
	Item      string         `json:"item"` // the canonical Digital Link of the pack
	Verdict   supply.Verdict `json:"verdict"`
	Height    int64          `json:"height"`
	BlockTime time.Time      `json:"block_time"` // expiry is judged against this, not a wall clock
	Public    *supply.Public `json:"public,omitempty"`
	Value     []byte         `json:"value,omitempty"`
	Proof     *Proof         `json:"proof"`
	Lot       string         `json:"lot,omitempty"` // the pack's lot, whose recall it inherits
	LotPublic *supply.Public `json:"lot_public,omitempty"`
	LotValue  []byte         `json:"lot_value,omitempty"`
	LotProof  *Proof         `json:"lot_proof,omitempty"`
}

// Verify checks a verification answer offline against the app hash the caller trusts:
// the item's public record (or its absence) and its lot's are proven, the shown records
// are the proven ones, and the verdict is what supply.Judge answers from them.
func (v *VerifyResponse) Verify(appHash []byte) error {
	if v.Item != v.Code.ItemID() {
		return fmt.Errorf("the answer is about %s, the code names %s", v.Item, v.Code.ItemID())
	}
	if err := v.Proof.Verify(appHash, supply.PublicKey(v.Item), v.Value); err != nil {
		return fmt.Errorf("record of %s: %w", v.Item, err)
	}
	item, err := supply.DecodePublic(v.Value)
	if err != nil {
		return err
	}
	if (item == nil) != (v.Public == nil) || (item != nil && *item != *v.Public) {
		return errors.New("the shown record is not the proven one")
	}
	var lot *supply.Public
	if item != nil && item.Lot != "" {
		if v.Lot != item.Lot {
			return fmt.Errorf("the answer names lot %q, the pack's record %q", v.Lot, item.Lot)
		}
		if err := v.LotProof.Verify(appHash, supply.PublicKey(v.Lot), v.LotValue); err != nil {
			return fmt.Errorf("record of lot %s: %w", v.Lot, err)
		}
		if lot, err = supply.DecodePublic(v.LotValue); err != nil {
			return err
		}
		if (lot == nil) != (v.LotPublic == nil) || (lot != nil && *lot != *v.LotPublic) {
			return errors.New("the shown lot record is not the proven one")
		}
	}
	if got := supply.Judge(v.Code, item, lot, v.BlockTime); got != v.Verdict {
		return fmt.Errorf("the proven records answer %s, the node said %s", got.Answer, v.Verdict.Answer)
	}
	return nil
}

// ReleasesResponse is one page of GET /epcis/releases: regulators' releases of quarantined
// items (supply.Release) in ledger order.
type ReleasesResponse struct {
	Height   int64             `json:"height"`
	Releases []*supply.Release `json:"releases"`
	Next     string            `json:"next,omitempty"` // the after= of the next page
}
