package supply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// StoredEvent is one EPCIS event on the ledger, kept as first captured.
type StoredEvent struct {
	HashID     string          `json:"hash_id"` // ni:///sha-256;…?ver=CBV2.0
	Type       string          `json:"type"`
	Event      json.RawMessage `json:"event"` // the event as it appeared in the document
	CapturedBy string          `json:"captured_by"`
	Height     int64           `json:"height"`
	Tx         string          `json:"tx"`
	Seq        uint64          `json:"seq"` // its place in ledger order: the n-th event stored
	// Context is its document's @context when that names more than the EPCIS context
	// (extension namespaces): a query answer carries it so the event expands as captured.
	Context json.RawMessage `json:"context,omitempty"`
	// Declaration marks the event erroneous (EPCIS 2.0 errorDeclaration, declare.go);
	// Event then carries the errorDeclaration member as the declarer captured it.
	Declaration *Declaration `json:"error_declaration,omitempty"`
	// Corrects are the Event Hash IDs of the erroneous events whose declaration names
	// this one among its corrective events.
	Corrects []string `json:"corrects,omitempty"`
}

// standardContexts are the @context values that name only the EPCIS 2.0 context.
var standardContexts = []string{`"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"`,
	`["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`}

// eventCountKey holds how many events the ledger stores (the last StoredEvent.Seq).
var eventCountKey = []byte("epcis/evn")

// EventCount is the number of events stored on the ledger.
func EventCount(r identity.Reader) uint64 {
	var n uint64
	if b := r.Get(eventCountKey); b != nil {
		fmt.Sscan(string(b), &n)
	}
	return n
}

// Capture is what one capture transaction did: each event's hash, and whether it was new
// (false: the ledger already held that event, from this capture or an earlier one).
type Capture struct {
	Events []CapturedEvent `json:"events"`
}

// CapturedEvent is one event of a capture.
type CapturedEvent struct {
	HashID   string   `json:"hash_id"`
	New      bool     `json:"new"`
	Suspects []uint64 `json:"suspects,omitempty"` // suspect-product events it caused
	// Declared: the event carried an errorDeclaration that marked it erroneous now
	// (an event already declared erroneous stays as first declared).
	Declared bool `json:"declared,omitempty"`
}

// EventKey is the state key of an event, by the hex digest of its Event Hash ID.
func EventKey(digest string) []byte { return []byte("epcis/ev/" + digest) }

// CaptureKey is the state key of what the capture transaction txHash (hex) did.
func CaptureKey(txHash string) []byte { return []byte("epcis/cap/" + txHash) }

// Digest is the hex SHA-256 of an Event Hash ID, or "" if hashID is not one.
func Digest(hashID string) string {
	d, ok := strings.CutPrefix(hashID, epcis.HashPrefix)
	if !ok {
		return ""
	}
	d, ok = strings.CutSuffix(d, epcis.HashVersion)
	if !ok || len(d) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(d); err != nil {
		return ""
	}
	return d
}

// GetEvent loads an event by the hex digest of its hash id, or nil.
func GetEvent(r identity.Reader, digest string) *StoredEvent {
	return tx.LoadJSON[StoredEvent](r, EventKey(digest), "supply")
}

// GetCapture loads what a capture transaction did, or nil.
func GetCapture(r identity.Reader, txHash string) *Capture {
	b := r.Get(CaptureKey(txHash))
	if b == nil {
		return nil
	}
	var c Capture
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("supply: capture %s is corrupt: %v", txHash, err))
	}
	return &c
}

// MayCapture says whether a role captures events: the partners that handle product. A
// regulator reads the chain; it does not move goods.
func MayCapture(r identity.Role) bool { return identity.TradingPartner(r) && r != identity.Regulator }

// ExecCapture applies a capture: it refuses the whole document if any event cannot be
// identified or declares erroneous an event another partner captured, and otherwise
// stores each event not yet on the ledger under its Event Hash ID and runs the custody
// contract on it. An event with an errorDeclaration that hashes to a stored event
// declares that one erroneous (declare.go).
func ExecCapture(st Store, env identity.Env, signer string, b *CaptureBody) *tx.Error {
	if env.Signer == nil || !MayCapture(env.Signer.Role) {
		role := "an unregistered signer"
		if env.Signer != nil {
			role = "a " + string(env.Signer.Role)
		}
		return Space.Err(CodeUnauthorized, "%s may not capture EPCIS events; a manufacturer, repackager, wholesaler or dispenser does", role)
	}
	partner := GetPartner(st, signer)
	if partner == nil {
		return Space.Err(CodeNotBound, "%s has no company prefixes or locations bound; the registrar binds them before the partner captures", signer)
	}
	events, raws, err := parseCapture(b.Document)
	if err != nil {
		return Space.Err(CodeInvalid, "%v", err)
	}
	hashIDs := make([]string, len(events))
	for i, ev := range events {
		hashIDs[i] = ev.HashID
	}
	if terr := checkDeclarations(st, signer, hashIDs, raws); terr != nil {
		return terr
	}
	ctx, _ := epcis.DocumentContext(b.Document) // the document parsed above
	if slices.Contains(standardContexts, string(ctx)) {
		ctx = nil
	}
	c := Capture{Events: make([]CapturedEvent, len(events))}
	fresh, suspects, declared, seq := 0, 0, 0, EventCount(st)
	for i, ev := range events {
		digest := Digest(ev.HashID)
		c.Events[i].HashID = ev.HashID
		if st.Get(EventKey(digest)) != nil {
			if raws[i].decl == nil {
				continue
			}
			if old := GetEvent(st, digest); old.Declaration == nil {
				c.Events[i].Declared = true
				declared++
				if n := declare(st, env, signer, old, raws[i], ctx); n != 0 {
					c.Events[i].Suspects = []uint64{n}
					suspects++
				}
			}
			continue
		}
		c.Events[i].New = true
		fresh++
		seq++
		se := &StoredEvent{HashID: ev.HashID, Type: ev.Type, Event: raws[i].raw,
			CapturedBy: signer, Height: env.Height, Tx: env.TxHash, Seq: seq, Context: ctx}
		if d := raws[i].decl; d != nil {
			// Declared erroneous as first captured: stored, marked, with no custody effect.
			se.Declaration = &Declaration{DeclarationTime: d.Time, Reason: d.Reason, CorrectiveEventIDs: d.Corrective,
				DeclaredBy: signer, Height: env.Height, Tx: env.TxHash, Custody: CustodyNone}
			c.Events[i].Declared = true
			declared++
			linkCorrective(st, signer, se)
		}
		correctiveOf(st, se, raws[i].eventID)
		st.Set(EventKey(digest), encode(se))
		if raws[i].eventID != "" && raws[i].eventID != ev.HashID && st.Get(eventIDKey(raws[i].eventID)) == nil {
			st.Set(eventIDKey(raws[i].eventID), []byte(digest))
		}
		indexEvent(st, seq, digest, raws[i])
		if se.Declaration != nil {
			grantVisibility(st, signer, seq, nil)
			continue
		}
		c.Events[i].Suspects = applyCustody(st, env, signer, partner.Prefixes, raws[i], ev.HashID, seq)
		suspects += len(c.Events[i].Suspects)
	}
	if fresh > 0 {
		st.Set(eventCountKey, fmt.Append(nil, seq))
	}
	st.Set(CaptureKey(env.TxHash), encode(&c))
	sum := sha256.Sum256(b.Document)
	ev := env.SignerEvent(signer, audit.EPCISCapture)
	ev.Digest, ev.Reason = hex.EncodeToString(sum[:]), captureSummary(len(events), fresh, declared, suspects)
	st.Append(ev.Encode())
	return nil
}

// parseCapture hashes a capture document's events and reads, for each, what the contract
// checks, from the same parse: the fields checked are the fields hashed and stored.
func parseCapture(doc []byte) ([]epcis.Event, []facts, error) {
	events, err := epcis.HashCapture(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("the document is not a capture document whose events can be identified: %v", err)
	}
	if len(events) > MaxEvents {
		return nil, nil, fmt.Errorf("the document carries %d events, more than the limit of %d per capture", len(events), MaxEvents)
	}
	fs := make([]facts, len(events))
	for i, ev := range events {
		fs[i] = factsOf(ev)
		if fs[i].decl, err = declarationOf(fs[i].raw); err != nil {
			return nil, nil, fmt.Errorf("event %d (%s): %v", i, ev.HashID, err)
		}
	}
	return events, fs, nil
}

func captureSummary(events, fresh, declared, suspects int) string {
	s := fmt.Sprintf("%d events, %d new", events, fresh)
	if declared > 0 {
		s += fmt.Sprintf(", %d declared erroneous", declared)
	}
	if suspects > 0 {
		s += fmt.Sprintf(", %d suspect", suspects)
	}
	return s
}

// storeLedger is the custody contract's view of the state.
type storeLedger struct{ st Store }

func (l storeLedger) Item(canon string) *Item     { return getItem(l.st, canon) }
func (l storeLedger) PartnerAt(gln string) string { return string(l.st.Get(glnKey(gln))) }

// applyCustody runs the custody contract on one new event: it writes the items the event
// changed and records each violation as a suspect-product event (the capture stands).
func applyCustody(st Store, env identity.Env, signer string, prefixes []string, f facts, hashID string, seq uint64) []uint64 {
	dec := Decide(storeLedger{st}, signer, prefixes, f, Digest(hashID))
	grantVisibility(st, signer, seq, dec.Items)
	byID := map[string]*Item{}
	for _, it := range dec.Items {
		byID[it.ID] = it
	}
	var seqs []uint64
	for _, v := range dec.Violations {
		n := recordSuspect(st, env, signer, hashID, v)
		seqs = append(seqs, n)
		for _, id := range v.Items {
			if it := byID[id]; it != nil && !slices.Contains(it.Suspects, n) {
				it.Suspects = append(it.Suspects, n)
			}
		}
	}
	writeUndo(st, Digest(hashID), dec.Items)
	for _, it := range dec.Items {
		st.Set(ItemKey(it.ID), encode(it))
		st.Set(PublicKey(it.ID), encode(PublicOf(it)))
	}
	return seqs
}
