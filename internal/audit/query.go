package audit

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Query limits.
const (
	DefaultLimit = 100              // events per page when the filter names none
	MaxLimit     = 1000             // most events one page may hold
	MaxQueryAge  = 10 * time.Minute // how far ahead a signed query may expire
)

const queryDomain = "ehrchain/audit-query/v1"

// KnownActions lists every action the ledger records. Filters accept these and their
// families ("record.*"), so a mistyped action is refused instead of matching nothing: an
// empty answer must mean "it did not happen". Add new actions here.
var KnownActions = []string{IdentityRegister, IdentityDeactivate, IdentityRotate, KeysPublish,
	ConsentGrant, ConsentRevoke, RecordWrite, RecordAmend, RecordRead, RecordList,
	PlanPublish, CoverageEnroll, CoverageEnd, ClaimSubmit, ClaimAdjudicate, ClaimPay, ClaimAppeal,
	ClaimAppealDecide, PriorAuthRequest, PriorAuthDecide,
	EmergencyCustodian, EmergencyEscrow, EmergencyOptOut, EmergencyDeclare, EmergencyRelease, EmergencyJustify, EmergencyReview,
	RecordErase, KeysErase, HoldPlace, HoldLift, RetentionSet, RecordExpire,
	TrialRegister, TrialIRB, TrialAmend, TrialEnrol, TrialResults,
	TrialConsentForm, TrialReconsent, TrialWithdraw, TrialRecord, TrialExport,
	PartnerBind, EPCISCapture, EPCISRelease, ValidatorSet, ValidatorRemove}

// Filter selects events. Empty fields match everything; the fields set must all match.
type Filter struct {
	Patient      string    `json:"patient,omitempty"`      // events about this identity (see Event.About)
	Actor        string    `json:"actor,omitempty"`        // who acted
	Organization string    `json:"organization,omitempty"` // as recorded: the actor's; for a registration, the new identity's
	Action       string    `json:"action,omitempty"`       // an action ("record.read") or a family ("record.*")
	Outcome      string    `json:"outcome,omitempty"`      // success or denied
	From         time.Time `json:"from,omitzero"`          // block time at or after (inclusive)
	To           time.Time `json:"to,omitzero"`            // block time before (exclusive)
	Cursor       string    `json:"cursor,omitempty"`       // Page.Next of the previous page; empty: from the oldest event
	Limit        int       `json:"limit,omitempty"`        // events per page; 0 means DefaultLimit
}

// Page is one page of a query's answer, oldest event first.
type Page struct {
	Events []*Event `json:"events"`
	Next   string   `json:"next,omitempty"` // cursor of the next page; empty when there is none
}

// About is the identity an event concerns: the patient whose records, consent or keys it
// touches or, for an identity change, the identity registered, deactivated or re-keyed.
func (e *Event) About() string {
	if e.Patient != "" {
		return e.Patient
	}
	return e.Subject
}

// Validate checks every field's form.
func (f *Filter) Validate() *tx.Error {
	for _, c := range []struct {
		name, v string
		max     int
	}{{"patient", f.Patient, 64}, {"actor", f.Actor, 64}, {"organization", f.Organization, 128}} {
		if len(c.v) > c.max || !utf8.ValidString(c.v) {
			return Space.Err(CodeInvalid, "%s must be valid UTF-8 of at most %d bytes", c.name, c.max)
		}
	}
	if f.Action != "" && !knownAction(f.Action) {
		return Space.Err(CodeInvalid, "unknown action %q: use one of %s, or a family such as record.*", f.Action, strings.Join(KnownActions, ", "))
	}
	if f.Outcome != "" && f.Outcome != Success && f.Outcome != Denied {
		return Space.Err(CodeInvalid, "outcome %q: use %s or %s", f.Outcome, Success, Denied)
	}
	for name, t := range map[string]time.Time{"from": f.From, "to": f.To} {
		if !t.IsZero() && !representable(t) {
			return Space.Err(CodeInvalid, "%s %s is out of range (after 1970, before 2262)", name, t.Format(time.RFC3339Nano))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return Space.Err(CodeInvalid, "from %s is after to %s", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	if _, ok := parseCursor(f.Cursor); !ok {
		return Space.Err(CodeInvalid, "cursor %q is not one this node gave out", f.Cursor)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return Space.Err(CodeInvalid, "limit %d: ask for 1 to %d events per page (0 means %d)", f.Limit, MaxLimit, DefaultLimit)
	}
	return nil
}

func knownAction(a string) bool {
	if fam, ok := strings.CutSuffix(a, ".*"); ok {
		return slices.ContainsFunc(KnownActions, func(k string) bool { return family(k) == fam })
	}
	return slices.Contains(KnownActions, a)
}

// family is the part of an action before its first dot: "record" for "record.read".
func family(action string) string {
	f, _, _ := strings.Cut(action, ".")
	return f
}

// representable: after the Unix epoch and within int64 nanoseconds, so it encodes exactly.
func representable(t time.Time) bool {
	return t.After(time.Unix(0, 0)) && time.Unix(0, t.UnixNano()).Equal(t)
}

// parseCursor reads a cursor: the log index of the first event to consider, in canonical
// decimal. The empty cursor is the start of the log.
func parseCursor(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}

// Match reports whether e passes every field of f but the cursor and the limit.
func (f *Filter) Match(e *Event) bool {
	switch {
	case f.Patient != "" && e.About() != f.Patient,
		f.Actor != "" && e.Actor != f.Actor,
		f.Organization != "" && e.Organization != f.Organization,
		f.Outcome != "" && e.Outcome != f.Outcome,
		!f.From.IsZero() && e.Time.Before(f.From),
		!f.To.IsZero() && !e.Time.Before(f.To):
		return false
	}
	if fam, ok := strings.CutSuffix(f.Action, ".*"); ok {
		return family(e.Action) == fam
	}
	return f.Action == "" || e.Action == f.Action
}

// QueryRequest is a filter signed by the identity asking. Nodes answer it without putting
// it on the ledger; the signature, the nonce and the short validity window make it usable
// only by its signer, on one chain, once per node, for at most MaxQueryAge.
type QueryRequest struct {
	ChainID   string
	Requester string
	Filter    Filter
	Nonce     [16]byte
	NotAfter  int64 // unix seconds; the node refuses the query after this wall-clock time
	Signature []byte
}

func (q *QueryRequest) encodeUnsigned(w *tx.Writer) {
	f := &q.Filter
	w.String(queryDomain)
	w.String(q.ChainID)
	w.String(q.Requester)
	w.String(f.Patient)
	w.String(f.Actor)
	w.String(f.Organization)
	w.String(f.Action)
	w.String(f.Outcome)
	w.Varint(unixNanos(f.From))
	w.Varint(unixNanos(f.To))
	w.String(f.Cursor)
	w.Uvarint(uint64(max(f.Limit, 0)))
	w.PutBytes(q.Nonce[:])
	w.Varint(q.NotAfter)
}

// unixNanos encodes a filter time; 0 stands for "unbounded".
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// SignBytes is what the requester signs: every field before the signature, the domain
// string first.
func (q *QueryRequest) SignBytes() []byte { return tx.RequestSignBytes(q.encodeUnsigned) }

// Encode is the wire form.
func (q *QueryRequest) Encode() []byte { return tx.RequestEncode(q.encodeUnsigned, q.Signature) }

// Hash identifies a query (for replay detection).
func (q *QueryRequest) Hash() [32]byte { return tx.RequestHash(q.encodeUnsigned, q.Signature) }

// Sign fills in the signature.
func (q *QueryRequest) Sign(key ed25519.PrivateKey) {
	q.Signature = tx.RequestSign(key, q.encodeUnsigned)
}

// DecodeQueryRequest parses the wire form. It accepts exactly one encoding of a request.
func DecodeQueryRequest(b []byte) (*QueryRequest, error) {
	r := tx.NewReader(b)
	if err := r.RequestHead(queryDomain, "an audit query"); err != nil {
		return nil, err
	}
	q := &QueryRequest{}
	f := &q.Filter
	q.ChainID = r.String("chain id", tx.MaxChainID)
	q.Requester = r.String("requester", 64)
	f.Patient = r.String("patient", 64)
	f.Actor = r.String("actor", 64)
	f.Organization = r.String("organization", 128)
	f.Action = r.String("action", 32)
	f.Outcome = r.String("outcome", 16)
	f.From = fromUnixNanos(r.Varint())
	f.To = fromUnixNanos(r.Varint())
	f.Cursor = r.String("cursor", 20)
	limit := r.Uvarint()
	var err error
	if q.NotAfter, q.Signature, err = r.RequestTail(&q.Nonce); err != nil {
		return nil, err
	}
	if limit > MaxLimit {
		return nil, fmt.Errorf("limit %d is more than %d", limit, MaxLimit)
	}
	f.Limit = int(limit)
	return q, nil
}

// Requester is what the ledger holds about the identity a query names.
type Requester struct {
	ID      string
	Role    string
	Active  bool
	SignKey ed25519.PublicKey
}

// Role names as package identity spells them (identity imports audit, so they are repeated
// here; a test keeps them equal).
const (
	roleAuditor   = "auditor"
	rolePatient   = "patient"
	roleProvider  = "provider"
	roleInsurer   = "insurer"
	roleRegistrar = "registrar"
	// Supply-chain trading partners (internal/supply).
	roleManufacturer = "manufacturer"
	roleRepackager   = "repackager"
	roleWholesaler   = "wholesaler"
	roleDispenser    = "dispenser"
	roleRegulator    = "regulator"
)

// Authenticate checks that q was signed for chainID by who (nil: not registered), that who
// is active, and that q has not expired at now and does not expire more than MaxQueryAge
// after it. The codes match those of transactions and read requests.
func (q *QueryRequest) Authenticate(chainID string, who *Requester, now time.Time) *tx.Error {
	var signer *tx.RequestSigner
	if who != nil {
		signer = &tx.RequestSigner{ID: who.ID, Active: who.Active, SignKey: who.SignKey}
	}
	signed := tx.SignedRequest{ChainID: q.ChainID, Requester: q.Requester, SignBytes: q.SignBytes(), Signature: q.Signature}
	if e := tx.AuthenticateRequest(chainID, "query", signed, signer); e != nil {
		return e
	}
	switch {
	case q.NotAfter < now.Unix():
		return Space.Err(CodeExpired, "the query expired at %s; sign a new one", time.Unix(q.NotAfter, 0).UTC().Format(time.RFC3339))
	case q.NotAfter > now.Add(MaxQueryAge).Unix():
		return Space.Err(CodeExpired, "the query is valid until %s, more than %s ahead; sign one that expires sooner",
			time.Unix(q.NotAfter, 0).UTC().Format(time.RFC3339), MaxQueryAge)
	}
	return nil
}

// Authorize narrows f to what who may see, or refuses. Deny by default: a role not named
// here sees nothing.
//   - auditor: every event;
//   - patient: the events about themself (their records, reads of them, their consent and
//     keys, their own identity changes), whoever acted;
//   - provider, insurer, supply-chain trading partners and regulators: their own actions,
//     whoever they concern (a regulator's view of the supply chain is its own query, not
//     the health-record trail);
//   - registrar: identity changes (identity.*), which it administers.
//
// Asking for more than the role allows is refused (audit/1) rather than silently narrowed,
// so nobody mistakes a narrowed answer for the whole trail.
func Authorize(who Requester, f Filter) (Filter, *tx.Error) {
	switch who.Role {
	case roleAuditor:
		return f, nil
	case rolePatient:
		if f.Patient != "" && f.Patient != who.ID {
			return Filter{}, Space.Err(CodeUnauthorized, "a patient may query only the events about themself, not about %s", f.Patient)
		}
		f.Patient = who.ID
		return f, nil
	case roleProvider, roleInsurer, roleManufacturer, roleRepackager, roleWholesaler, roleDispenser, roleRegulator:
		if f.Actor != "" && f.Actor != who.ID {
			return Filter{}, Space.Err(CodeUnauthorized, "a %s may query only its own actions, not those of %s", who.Role, f.Actor)
		}
		f.Actor = who.ID
		return f, nil
	case roleRegistrar:
		if f.Action == "" {
			f.Action = family(IdentityRegister) + ".*"
		}
		if family(f.Action) != family(IdentityRegister) {
			return Filter{}, Space.Err(CodeUnauthorized, "a registrar may query only identity events (identity.*), not %s", f.Action)
		}
		return f, nil
	}
	return Filter{}, Space.Err(CodeUnauthorized, "the role %q may not query the audit log", who.Role)
}

// ReplayGuard remembers the queries a node has answered until they expire, so a captured
// query cannot be sent to the same node again to learn of later events. Safe for
// concurrent use.
type ReplayGuard struct {
	mu   sync.Mutex
	seen map[[32]byte]int64 // query hash -> not_after
	max  int
}

// NewReplayGuard remembers up to max unexpired queries.
func NewReplayGuard(max int) *ReplayGuard {
	return &ReplayGuard{seen: map[[32]byte]int64{}, max: max}
}

// Admit accepts a query the first time it is seen. It refuses a replay (audit/4), and any
// query while max unexpired queries are remembered (audit/5).
func (g *ReplayGuard) Admit(q *QueryRequest, now time.Time) *tx.Error {
	h := q.Hash()
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[h]; ok {
		return Space.Err(CodeReplayed, "this signed query was already answered; sign a new one (fresh nonce)")
	}
	if len(g.seen) >= g.max {
		for k, exp := range g.seen {
			if exp < now.Unix() {
				delete(g.seen, k)
			}
		}
		if len(g.seen) >= g.max {
			return Space.Err(CodeBusy, "too many audit queries in the last %s; retry shortly", MaxQueryAge)
		}
	}
	g.seen[h] = q.NotAfter
	return nil
}

// LogView is the committed event log a query reads; *state.View is one.
type LogView interface {
	LogSize() uint64
	Leaf(index uint64) ([]byte, error)
}

// Narrower is a secondary index of the log that Query consults to visit only the events
// that may match; *auditindex.Index is one. CatchUp brings it up to v; Join returns next(i),
// the first event index at or after i that may match f (ok false when it cannot narrow f or
// does not cover n events), and release, to be called when done.
type Narrower interface {
	CatchUp(v LogView) error
	Join(f Filter, n uint64) (next func(uint64) (uint64, bool, error), release func(), ok bool)
}

// Query answers one page of f from v, oldest event first, starting at f.Cursor. The caller
// has checked who may see what (Authorize). With an index, Query first brings it up to v
// and then visits only the events that carry every term of f; without one (ix nil, closed
// or failing) it scans the time range. Either way each event is re-checked against f, so a
// damaged index can hide events but never show one that does not match.
func Query(v LogView, ix Narrower, f Filter) (*Page, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	n := v.LogSize()
	lo, hi := uint64(0), n
	var err error
	if !f.From.IsZero() {
		if lo, err = firstAtOrAfter(v, n, f.From); err != nil {
			return nil, err
		}
	}
	if !f.To.IsZero() {
		if hi, err = firstAtOrAfter(v, n, f.To); err != nil {
			return nil, err
		}
	}
	cursor, _ := parseCursor(f.Cursor)
	lo = max(lo, cursor)

	next := func(i uint64) (uint64, bool, error) { return i, i < hi, nil } // a scan
	if ix != nil && ix.CatchUp(v) == nil {
		if j, release, ok := ix.Join(f, n); ok {
			defer release()
			next = j
		}
	}
	page := &Page{Events: []*Event{}}
	for i := lo; i < hi; i++ {
		var ok bool
		if i, ok, err = next(i); err != nil {
			return nil, err
		}
		if !ok || i >= hi {
			break
		}
		e, err := eventAt(v, i)
		if err != nil {
			return nil, err
		}
		if !f.Match(e) {
			continue
		}
		if len(page.Events) == limit {
			page.Next = strconv.FormatUint(i, 10)
			break
		}
		page.Events = append(page.Events, e)
	}
	return page, nil
}

// eventAt reads and decodes one committed event.
func eventAt(v LogView, i uint64) (*Event, error) {
	leaf, err := v.Leaf(i)
	if err != nil {
		return nil, err
	}
	e, err := Decode(leaf)
	if err != nil {
		return nil, fmt.Errorf("event %d is corrupt: %w", i, err)
	}
	e.Index = i
	return e, nil
}

// firstAtOrAfter is the index of the first of the first n events whose block time is not
// before t, or n. Block times never decrease along the log (events of one block share its
// time; CometBFT block times increase), so a time range is a contiguous index range and a
// binary search finds its ends in O(log n) leaf reads.
func firstAtOrAfter(v LogView, n uint64, t time.Time) (uint64, error) {
	lo, hi := uint64(0), n
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := eventAt(v, mid)
		if err != nil {
			return 0, err
		}
		if e.Time.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}
