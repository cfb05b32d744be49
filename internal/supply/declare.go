package supply

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Error declarations (EPCIS 2.0's errorDeclaration, CBV 2.0's ER vocabulary). A partner
// declares an event it captured erroneous by capturing it again with an errorDeclaration
// member: since the Event Hash ID leaves errorDeclaration (and eventID, recordTime) out,
// the declaration hashes to the event it declares, and that is how the ledger finds it.
// The event stays on the ledger, marked; its custody effect is undone when nothing has
// changed the custody of its items since, and otherwise kept and reported as suspect.

// CBV 2.0 error reasons (the ER vocabulary's bare words).
const (
	ErrorDidNotOccur   = "did_not_occur"
	ErrorIncorrectData = "incorrect_data"
)

// ReasonDeclaredErroneous is the suspect reason of an event declared erroneous after
// other events built on it: the custody it gave stands, its items are quarantined.
const ReasonDeclaredErroneous = "declared_erroneous"

// What a declaration did to custody.
const (
	CustodyNone   = "none"   // the event changed no custody (or was declared erroneous when first captured)
	CustodyUndone = "undone" // every item it changed is back as it was before it
	CustodyKept   = "kept"   // an item changed custody since: nothing is undone, a suspect event says so
)

// MaxCorrective bounds the correctiveEventIDs of one declaration.
const MaxCorrective = 100

// Declaration marks a stored event erroneous: the errorDeclaration as captured, who
// declared it when, and what it did to custody.
type Declaration struct {
	DeclarationTime    string   `json:"declaration_time"`
	Reason             string   `json:"reason,omitempty"`               // as given: a CBV ER term or another URI
	CorrectiveEventIDs []string `json:"corrective_event_ids,omitempty"` // as given
	// Corrective are the Event Hash IDs of the declarer's corrective events on the ledger,
	// linked when the declaration or the corrective event is captured, whichever is later.
	Corrective []string `json:"corrective,omitempty"`
	DeclaredBy string   `json:"declared_by"`
	Height     int64    `json:"height"`
	Tx         string   `json:"tx"`
	Custody    string   `json:"custody"`
	Items      []string `json:"items,omitempty"`   // the items whose custody was undone (or kept)
	Suspect    uint64   `json:"suspect,omitempty"` // the suspect event, when custody was kept
}

// declared is an event's errorDeclaration as the contract reads it.
type declared struct {
	Time       string
	Reason     string
	Corrective []string
	raw        json.RawMessage // the member as captured
}

// ErrorReason is a CBV error reason's bare word from any of its spellings.
func ErrorReason(s string) string { return bizStepWord(s, "ER") }

// declarationOf reads the errorDeclaration of an event as captured (nil: it has none).
// It re-checks what the schema requires of it, because a transaction gossiped from
// another node reaches the contract without the schema check.
func declarationOf(event []byte) (*declared, error) {
	if !bytes.Contains(event, []byte(`"errorDeclaration"`)) {
		return nil, nil // the common case, without decoding the event again
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, err
	}
	raw, ok := ev["errorDeclaration"]
	if !ok {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, errors.New("errorDeclaration is not an object")
	}
	d := &declared{}
	if json.Unmarshal(m["declarationTime"], &d.Time) != nil || d.Time == "" {
		return nil, errors.New("errorDeclaration.declarationTime is missing or not a string")
	}
	if _, err := time.Parse(time.RFC3339Nano, d.Time); err != nil {
		return nil, fmt.Errorf("errorDeclaration.declarationTime %q is not a date-time with its UTC offset", d.Time)
	}
	if r, ok := m["reason"]; ok && (json.Unmarshal(r, &d.Reason) != nil || d.Reason == "") {
		return nil, errors.New("errorDeclaration.reason is not a non-empty string")
	}
	if c, ok := m["correctiveEventIDs"]; ok {
		if json.Unmarshal(c, &d.Corrective) != nil || slices.Contains(d.Corrective, "") {
			return nil, errors.New("errorDeclaration.correctiveEventIDs is not an array of event ids")
		}
		if len(d.Corrective) > MaxCorrective {
			return nil, fmt.Errorf("errorDeclaration.correctiveEventIDs names %d events, more than %d", len(d.Corrective), MaxCorrective)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	d.raw = buf.Bytes()
	return d, nil
}

// withDeclaration is a stored event as first captured with the declaring event's
// errorDeclaration member added, as an EPCIS repository answers a declared event. The
// member is outside the Event Hash ID, so the event still hashes to its id.
func withDeclaration(event []byte, d *declared) json.RawMessage {
	body := bytes.TrimSpace(event)
	if len(body) < 2 || body[len(body)-1] != '}' {
		return event
	}
	out := slices.Clone(body[:len(body)-1])
	if len(bytes.TrimSpace(body[1:len(body)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"errorDeclaration":`...)
	out = append(out, d.raw...)
	return append(out, '}')
}

// custodyState is the part of an item's record an event's custody effect changes; the
// rest (its history, suspects, quarantine, the partners that held it) only grows.
type custodyState struct {
	Owner     string   `json:"owner,omitempty"`
	Status    string   `json:"status"`
	ShippedTo string   `json:"shipped_to,omitempty"`
	Lot       string   `json:"lot,omitempty"`
	Expiry    string   `json:"expiry,omitempty"`
	Parent    string   `json:"parent,omitempty"`
	Children  []string `json:"children,omitempty"`
	Stays     []Stay   `json:"stays,omitempty"`
}

func custodyOf(it *Item) *custodyState {
	if it == nil {
		return nil
	}
	return &custodyState{Owner: it.Owner, Status: it.Status, ShippedTo: it.ShippedTo, Lot: it.Lot, Expiry: it.Expiry,
		Parent: it.Parent, Children: slices.Clone(it.Children), Stays: slices.Clone(it.Stays)}
}

func sameCustody(a, b *custodyState) bool {
	return (a == nil) == (b == nil) && bytes.Equal(encode(a), encode(b))
}

// custodyDigest is the hex SHA-256 of an item's custody fields: what an undo record
// keeps of the state an event left, to tell whether anything changed it since.
func custodyDigest(c *custodyState) string {
	s := sha256.Sum256(encode(c))
	return hex.EncodeToString(s[:])
}

// restore puts an item's custody back to before (nil: it did not exist, so it is void).
func (it *Item) restore(before *custodyState) {
	if before == nil {
		before = &custodyState{Status: StatusVoid}
	}
	it.Owner, it.Status, it.ShippedTo, it.Lot, it.Expiry = before.Owner, before.Status, before.ShippedTo, before.Lot, before.Expiry
	it.Parent, it.Children, it.Stays = before.Parent, slices.Clone(before.Children), slices.Clone(before.Stays)
}

// undoRecord is what one event did to custody: each item it changed, its custody fields
// before and the digest of those after. It is written beside the event, for the event's
// error declaration to undo.
type undoRecord struct {
	Items []undoItem `json:"items"`
}

type undoItem struct {
	ID     string        `json:"id"`
	Before *custodyState `json:"before,omitempty"` // nil: the event created the record
	After  string        `json:"after"`            // custodyDigest of what the event left
}

// undoKey is the state key of an event's undo record, by its hex digest.
func undoKey(digest string) []byte { return []byte("epcis/undo/" + digest) }

// eventIDKey finds a stored event by the eventID its capturer gave it (first capture
// wins); correctiveKey lists the erroneous events whose declaration names an id not yet
// on the ledger among its corrective events. Ids are hashed: they are any URI.
func eventIDKey(id string) []byte    { return []byte("epcis/eid/" + idDigest(id)) }
func correctiveKey(id string) []byte { return []byte("epcis/corr/" + idDigest(id)) }

func idDigest(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

// writeUndo records the custody items changed by the event digest; an event that
// changed none has no record.
func writeUndo(st Store, digest string, items []*Item) {
	var u undoRecord
	for _, it := range items {
		before, after := custodyOf(getItem(st, it.ID)), custodyOf(it)
		if !sameCustody(before, after) {
			u.Items = append(u.Items, undoItem{ID: it.ID, Before: before, After: custodyDigest(after)})
		}
	}
	if len(u.Items) > 0 {
		st.Set(undoKey(digest), encode(&u))
	}
}

// checkDeclarations refuses a capture that declares erroneous an event another partner
// captured: a declaration is the capturer's statement about its own data. A regulator
// does not capture and so does not declare; it clears quarantines instead (ExecRelease).
func checkDeclarations(st Store, signer string, hashIDs []string, fs []facts) *tx.Error {
	for i, f := range fs {
		if f.decl == nil {
			continue
		}
		if ev := GetEvent(st, Digest(hashIDs[i])); ev != nil && ev.CapturedBy != signer {
			return Space.Err(CodeNotCapturer, "event %d declares %s erroneous, which %s captured: only the partner that captured an event declares it erroneous",
				i, hashIDs[i], ev.CapturedBy)
		}
	}
	return nil
}

// declare marks the stored event ev erroneous as the declaring event f says, undoes its
// custody effect where that is well defined, and links its corrective events. It returns
// the suspect event it recorded, if any (0: none).
func declare(st Store, env identity.Env, signer string, ev *StoredEvent, f facts, ctx json.RawMessage) uint64 {
	digest := Digest(ev.HashID)
	d := &Declaration{DeclarationTime: f.decl.Time, Reason: f.decl.Reason, CorrectiveEventIDs: f.decl.Corrective,
		DeclaredBy: signer, Height: env.Height, Tx: env.TxHash, Custody: CustodyNone}
	var u undoRecord
	if b := st.Get(undoKey(digest)); b != nil {
		if err := json.Unmarshal(b, &u); err != nil {
			panic(fmt.Sprintf("supply: undo record of %s is corrupt: %v", digest, err))
		}
	}
	var moved []string
	items := make([]*Item, len(u.Items))
	for i, e := range u.Items {
		d.Items = append(d.Items, e.ID)
		items[i] = getItem(st, e.ID)
		if items[i] == nil || custodyDigest(custodyOf(items[i])) != e.After {
			moved = append(moved, e.ID)
		}
	}
	switch {
	case len(u.Items) == 0:
	case len(moved) == 0:
		d.Custody = CustodyUndone
		for i, it := range items {
			it.restore(u.Items[i].Before)
		}
	default:
		// Later events built on the erroneous one: undoing it alone would leave them
		// describing custody that never was. The records stand, quarantined, for a
		// regulator to look into and release.
		d.Custody = CustodyKept
		v := Violation{Reason: ReasonDeclaredErroneous, Items: d.Items,
			Detail: fmt.Sprintf("%s declared event %s erroneous (%s), but %s changed custody since; their custody stands as recorded, quarantined",
				signer, ev.HashID, orNobody(ErrorReason(d.Reason)), strings.Join(moved, ", "))}
		for _, it := range items {
			if it != nil {
				it.Quarantined = true
				v.Parties = addAll(v.Parties, []string{signer, it.Owner, it.ShippedTo})
			}
		}
		d.Suspect = recordSuspect(st, env, signer, ev.HashID, v)
		for _, it := range items {
			if it != nil {
				it.Suspects = append(it.Suspects, d.Suspect)
			}
		}
	}
	for _, it := range items {
		if it != nil {
			st.Set(ItemKey(it.ID), encode(it))
			st.Set(PublicKey(it.ID), encode(PublicOf(it)))
		}
	}
	ev.Declaration = d
	ev.Event = withDeclaration(ev.Event, f.decl)
	if ev.Context == nil {
		ev.Context = ctx
	}
	linkCorrective(st, signer, ev)
	st.Set(EventKey(digest), encode(ev))
	return d.Suspect
}

// linkCorrective links the declared event ev to those of its corrective events its
// declarer captured that are on the ledger, and leaves a note for the others, which are
// linked when captured (correctiveOf). Another partner's event is not linked.
func linkCorrective(st Store, signer string, ev *StoredEvent) {
	d := ev.Declaration
	for _, id := range d.CorrectiveEventIDs {
		target := Digest(id)
		if target == "" || st.Get(EventKey(target)) == nil {
			target = string(st.Get(eventIDKey(id)))
		}
		c := (*StoredEvent)(nil)
		if target != "" {
			c = GetEvent(st, target)
		}
		switch {
		case c == nil:
			k := correctiveKey(id)
			var pending []string
			if b := st.Get(k); b != nil {
				json.Unmarshal(b, &pending)
			}
			if !slices.Contains(pending, ev.HashID) {
				st.Set(k, encode(append(pending, ev.HashID)))
			}
		case c.HashID == ev.HashID || c.CapturedBy != signer || slices.Contains(d.Corrective, c.HashID):
		default:
			d.Corrective = append(d.Corrective, c.HashID)
			if !slices.Contains(c.Corrects, ev.HashID) {
				c.Corrects = append(c.Corrects, ev.HashID)
				st.Set(EventKey(target), encode(c))
			}
		}
	}
}

// correctiveOf links a new event to the declared events that named it (by its Event
// Hash ID or its eventID) among their corrective events before it was captured, when it
// is their declarer's.
func correctiveOf(st Store, ev *StoredEvent, eventID string) {
	for _, id := range []string{ev.HashID, eventID} {
		if id == "" {
			continue
		}
		b := st.Get(correctiveKey(id))
		if b == nil {
			continue
		}
		var pending []string
		json.Unmarshal(b, &pending)
		for _, h := range pending {
			e := GetEvent(st, Digest(h))
			if e == nil || e.Declaration == nil || e.Declaration.DeclaredBy != ev.CapturedBy || h == ev.HashID ||
				slices.Contains(e.Declaration.Corrective, ev.HashID) {
				continue
			}
			e.Declaration.Corrective = append(e.Declaration.Corrective, ev.HashID)
			st.Set(EventKey(Digest(h)), encode(e))
			if !slices.Contains(ev.Corrects, h) {
				ev.Corrects = append(ev.Corrects, h)
			}
		}
	}
}

// recordSuspect writes one suspect-product event and indexes it under its parties.
func recordSuspect(st Store, env identity.Env, signer, hashID string, v Violation) uint64 {
	n := SuspectCount(st) + 1
	st.Set(SuspectKey(n), encode(&Suspect{Seq: n, Reason: v.Reason, Detail: v.Detail, Items: v.Items, Event: hashID,
		CapturedBy: signer, Parties: v.Parties, Height: env.Height, Tx: env.TxHash}))
	for _, p := range v.Parties {
		st.Set(suspectPartyKey(p, n), []byte{1})
	}
	st.Set(suspectCountKey, fmt.Append(nil, n))
	return n
}
