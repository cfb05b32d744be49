package wire

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/ehrchain/ehrchain/internal/supply"
)

// ProvenQueryResponse is GET /epcis/events?proof=true: one page of an EPCIS query, each
// answered event with the proof of its state value at Height. Verify checks it offline.
type ProvenQueryResponse struct {
	Height  int64         `json:"height"`
	AppHash []byte        `json:"app_hash"`       // what the node says the state at Height hashes to
	Events  []ProvenEvent `json:"events"`         // in ledger order
	Next    string        `json:"next,omitempty"` // the nextPageToken of the following page; "" on the last
}

// ProvenEvent is one stored event, the exact state value it was decoded from and the
// value's proof.
type ProvenEvent struct {
	HashID string              `json:"hash_id"`
	Event  *supply.StoredEvent `json:"event"`
	Value  []byte              `json:"value"`
	Proof  *Proof              `json:"proof"`
}

// verify checks one event against appHash: it is the proven value under its own key.
func (e *ProvenEvent) verify(appHash []byte, height int64) error {
	d := supply.Digest(e.HashID)
	if d == "" || e.Event == nil || e.Event.HashID != e.HashID {
		return fmt.Errorf("%q is not an event under its Event Hash ID", e.HashID)
	}
	if e.Proof != nil && e.Proof.Height != height {
		return fmt.Errorf("event %s: proven at height %d, the answer is at %d", e.HashID, e.Proof.Height, height)
	}
	if err := e.Proof.Verify(appHash, supply.EventKey(d), e.Value); err != nil {
		return fmt.Errorf("event %s: %w", e.HashID, err)
	}
	if err := sameJSON(e.Value, e.Event); err != nil {
		return fmt.Errorf("event %s: %w", e.HashID, err)
	}
	return nil
}

// Verify checks a proven query page offline against the app hash the caller trusts
// (from a block header it retained): every event is the proven state value under its
// Event Hash ID, the events are in ledger order, and each satisfies the query params
// (the parameters sent, as supply.ParseQuery reads them). A proof shows what is on the
// ledger, not that nothing else matched: completeness rests on the node.
func (r *ProvenQueryResponse) Verify(appHash []byte, params url.Values) error {
	asked := url.Values{}
	for k, v := range params {
		if k != "proof" {
			asked[k] = v
		}
	}
	q, _, err := supply.ParseQuery(asked)
	if err != nil {
		return err
	}
	var last uint64
	for i := range r.Events {
		e := &r.Events[i]
		if err := e.verify(appHash, r.Height); err != nil {
			return err
		}
		if e.Event.Seq <= last {
			return fmt.Errorf("event %s is out of ledger order", e.HashID)
		}
		last = e.Event.Seq
		if !q.Match(e.Event) {
			return fmt.Errorf("event %s does not match the query", e.HashID)
		}
	}
	return nil
}

// LotTraceResponse is GET /epcis/lots/{lot}/trace: one page of the packs of a lot the
// caller may trace, each with its record, the units it is inside and the latest event of
// each, all proven at Height. Verify checks it offline.
type LotTraceResponse struct {
	Lot     string       `json:"lot"` // the lot's canonical Digital Link
	Height  int64        `json:"height"`
	AppHash []byte       `json:"app_hash"`
	Record  *ProvenItem  `json:"record,omitempty"` // the lot's own record (Item and Value null: proven absent); omitted when the caller may not trace it
	Packs   []ProvenPack `json:"packs"`
	Next    string       `json:"next,omitempty"` // pass as after= for the next page
}

// ProvenPack is one pack of a lot trace: its record, the units it is inside now
// (innermost first) and, for the pack and each unit in that order, its latest event.
type ProvenPack struct {
	Item   ProvenItem    `json:"item"`
	Within []ProvenItem  `json:"within,omitempty"`
	Last   []ProvenEvent `json:"last"`
}

// Where is the latest event among the pack's and its units' (where it was last seen),
// or nil.
func (p *ProvenPack) Where() *supply.StoredEvent {
	var w *supply.StoredEvent
	for _, e := range p.Last {
		if e.Event != nil && (w == nil || e.Event.Seq > w.Seq) {
			w = e.Event
		}
	}
	return w
}

// Verify checks a lot trace page offline against the app hash the caller trusts: the
// lot's record (or its absence) when shown and every pack's record are proven, each pack is of the
// lot, each unit is the proven parent of the one before, and each latest event is the
// proven last event of its record's history.
func (t *LotTraceResponse) Verify(appHash []byte) error {
	if r := t.Record; r != nil {
		if err := r.Proof.Verify(appHash, supply.ItemKey(t.Lot), r.Value); err != nil {
			return fmt.Errorf("record of lot %s: %w", t.Lot, err)
		}
		if (r.Value == nil) != (r.Item == nil) {
			return errors.New("the shown lot record is not the proven one")
		}
		if r.Item != nil {
			if err := sameJSON(r.Value, r.Item); err != nil {
				return fmt.Errorf("record of lot %s: %w", t.Lot, err)
			}
		}
	}
	for i := range t.Packs {
		p := &t.Packs[i]
		chain := append([]ProvenItem{p.Item}, p.Within...)
		for j, pi := range chain {
			if pi.Item == nil {
				return fmt.Errorf("pack %d: record %d is empty", i, j)
			}
			if err := pi.Proof.Verify(appHash, supply.ItemKey(pi.Item.ID), pi.Value); err != nil {
				return fmt.Errorf("record of %s: %w", pi.Item.ID, err)
			}
			if err := sameJSON(pi.Value, pi.Item); err != nil {
				return fmt.Errorf("record of %s: %w", pi.Item.ID, err)
			}
			if j > 0 && chain[j-1].Item.Parent != pi.Item.ID {
				return fmt.Errorf("%s is not inside %s", chain[j-1].Item.ID, pi.Item.ID)
			}
		}
		if p.Item.Item.Lot != t.Lot {
			return fmt.Errorf("%s is of lot %q, not %s", p.Item.Item.ID, p.Item.Item.Lot, t.Lot)
		}
		if n := len(chain) - 1; chain[n].Item.Parent != "" {
			return fmt.Errorf("%s is inside %s, which the answer leaves out", chain[n].Item.ID, chain[n].Item.Parent)
		}
		if len(p.Last) != len(chain) {
			return fmt.Errorf("%s: %d latest events for %d records", p.Item.Item.ID, len(p.Last), len(chain))
		}
		for j := range p.Last {
			e := &p.Last[j]
			if err := e.verify(appHash, t.Height); err != nil {
				return err
			}
			evs := chain[j].Item.Events
			if len(evs) == 0 || evs[len(evs)-1] != supply.Digest(e.HashID) {
				return fmt.Errorf("event %s is not the latest of %s", e.HashID, chain[j].Item.ID)
			}
		}
	}
	return nil
}
