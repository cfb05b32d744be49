package supply

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// Query is an EPCIS 2.0 SimpleEventQuery as the REST binding's parameters give it. Each
// list holds the values of one parameter (any of them matches); every parameter given
// must match. Identifiers and locations are canonical (CanonicalID).
type Query struct {
	EventTypes   []string
	EPC          []EPCValue // MATCH_epc: epcList, childEPCs
	AnyEPC       []EPCValue // MATCH_anyEPC: also parentID, inputEPCList, outputEPCList
	ParentID     []EPCValue
	InputEPC     []EPCValue
	OutputEPC    []EPCValue
	Actions      []string
	BizSteps     []string // bare CBV words where the value is a CBV term
	Dispositions []string
	BizLocations []string
	ReadPoints   []string
	From, To     time.Time // GE_eventTime (inclusive), LT_eventTime (exclusive); zero: unbounded
}

// Page is where a query page starts and how long it is.
type Page struct {
	After   uint64 // the nextPageToken: the ledger sequence number the previous page ended at
	PerPage int
}

// Paging of EPCIS queries (GS1's OpenAPI: perPage defaults to 30).
const (
	DefaultPerPage = 30
	MaxPerPage     = 1000
	// MaxQueryScan bounds the index entries one page reads; a page that reaches it ends
	// early (possibly empty) with a nextPageToken to go on from.
	MaxQueryScan = 2000
)

// QueryError is a refused query parameter.
type QueryError struct {
	Param, Reason string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("EPCIS query parameter %s: %s", e.Param, e.Reason)
}

var eventTypes = []string{"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}

// ParseQuery reads the REST query parameters. A parameter's values are separated by "|"
// (GS1's REST binding) or given as repeated parameters. Unknown parameters and the
// standard's parameters this node does not evaluate are refused, naming the parameter:
// an ignored filter would answer events the client did not ask for.
func ParseQuery(params url.Values) (*Query, Page, error) {
	q := &Query{}
	pg := Page{PerPage: DefaultPerPage}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names) // the first bad parameter in name order, not the map's
	for _, name := range names {
		var vals []string
		for _, v := range params[name] {
			for _, s := range strings.Split(v, "|") {
				if s = strings.TrimSpace(s); s != "" {
					vals = append(vals, s)
				}
			}
		}
		if len(vals) == 0 {
			return nil, pg, &QueryError{name, "has no value"}
		}
		epcs := func(dst *[]EPCValue) error {
			for _, v := range vals {
				e, err := ParseEPCValue(v)
				if err != nil {
					return &QueryError{name, err.Error()}
				}
				if e.ID == "" && e.Pattern == nil {
					return &QueryError{name, fmt.Sprintf("%q is neither an EPC URI, an EPC pattern URI nor a GS1 Digital Link", v)}
				}
				*dst = append(*dst, e)
			}
			return nil
		}
		ids := func(dst *[]string) error {
			for _, v := range vals {
				if strings.Contains(v, "idpat") || strings.Contains(v, "*") {
					return &QueryError{name, fmt.Sprintf("%q is a pattern; %s takes exact locations (SGLN URI or GS1 Digital Link)", v, name)}
				}
				c := CanonicalID(v)
				if c == "" {
					return &QueryError{name, fmt.Sprintf("%q is neither an SGLN URI nor a GS1 Digital Link", v)}
				}
				*dst = append(*dst, c)
			}
			return nil
		}
		one := func() (string, error) {
			if len(vals) != 1 {
				return "", &QueryError{name, "takes one value"}
			}
			return vals[0], nil
		}
		var err error
		switch name {
		case "eventType":
			for _, v := range vals {
				if !slices.Contains(eventTypes, v) {
					return nil, pg, &QueryError{name, fmt.Sprintf("%q is not an EPCIS event type (%s)", v, strings.Join(eventTypes, ", "))}
				}
			}
			q.EventTypes = vals
		case "MATCH_epc":
			err = epcs(&q.EPC)
		case "MATCH_anyEPC":
			err = epcs(&q.AnyEPC)
		case "MATCH_parentID":
			err = epcs(&q.ParentID)
		case "MATCH_inputEPC":
			err = epcs(&q.InputEPC)
		case "MATCH_outputEPC":
			err = epcs(&q.OutputEPC)
		case "EQ_action":
			for _, v := range vals {
				if v != "ADD" && v != "OBSERVE" && v != "DELETE" {
					return nil, pg, &QueryError{name, fmt.Sprintf("%q is not ADD, OBSERVE or DELETE", v)}
				}
			}
			q.Actions = vals
		case "EQ_bizStep":
			for _, v := range vals {
				q.BizSteps = append(q.BizSteps, cbvWord(v, "BizStep"))
			}
		case "EQ_disposition":
			for _, v := range vals {
				q.Dispositions = append(q.Dispositions, cbvWord(v, "Disp"))
			}
		case "EQ_bizLocation":
			err = ids(&q.BizLocations)
		case "EQ_readPoint":
			err = ids(&q.ReadPoints)
		case "GE_eventTime", "LT_eventTime":
			var v string
			if v, err = one(); err == nil {
				var t time.Time
				if t, err = parseQueryTime(name, v); err == nil && name == "GE_eventTime" {
					q.From = t
				} else if err == nil {
					q.To = t
				}
			}
		case "perPage":
			var v string
			if v, err = one(); err == nil {
				n, perr := strconv.Atoi(v)
				if perr != nil || n < 1 || n > MaxPerPage {
					return nil, pg, &QueryError{name, fmt.Sprintf("%q must be 1 to %d", v, MaxPerPage)}
				}
				pg.PerPage = n
			}
		case "nextPageToken":
			var v string
			if v, err = one(); err == nil {
				n, perr := strconv.ParseUint(v, 10, 64)
				if perr != nil || n == 0 {
					return nil, pg, &QueryError{name, fmt.Sprintf("%q is not a token this node issued (take it from the Link header of the previous page)", v)}
				}
				pg.After = n
			}
		default:
			return nil, pg, &QueryError{name, "is not a query parameter this node evaluates; it takes eventType, MATCH_epc, MATCH_anyEPC, MATCH_parentID, MATCH_inputEPC, MATCH_outputEPC, EQ_action, EQ_bizStep, EQ_disposition, EQ_bizLocation, EQ_readPoint, GE_eventTime, LT_eventTime, perPage and nextPageToken"}
		}
		if err != nil {
			return nil, pg, err
		}
	}
	return q, pg, nil
}

func parseQueryTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Contains(v, " ") { // a "+01:00" sent unescaped arrives as a space
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
	}
	if err != nil {
		return time.Time{}, &QueryError{name, fmt.Sprintf("%q is not a date-time with its UTC offset (2026-01-02T03:04:05Z)", v)}
	}
	return t, nil
}

// cbvWord is a CBV term's bare word from any of its spellings (urn:epcglobal:cbv:bizstep:
// shipping, https://ref.gs1.org/cbv/BizStep-shipping, shipping); other URIs stay as given.
func cbvWord(s, vocab string) string {
	for _, p := range []string{"urn:epcglobal:cbv:" + strings.ToLower(vocab) + ":", "https://ref.gs1.org/cbv/" + vocab + "-"} {
		if w, ok := strings.CutPrefix(s, p); ok {
			return w
		}
	}
	return s
}

// queried is a stored event's members as the query reads them (exact member names: the
// capture refused documents with a member given twice).
type queried map[string]json.RawMessage

func (m queried) text(k string) string {
	var s string
	if json.Unmarshal(m[k], &s) != nil {
		return ""
	}
	return s
}

func (m queried) list(k string) []string {
	var raw []json.RawMessage
	json.Unmarshal(m[k], &raw)
	var out []string
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, CanonicalID(s))
		}
	}
	return out
}

func (m queried) place(k string) string {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(m[k], &p) != nil || p.ID == "" {
		return ""
	}
	return CanonicalID(p.ID)
}

func anyIn(want []EPCValue, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w.Matches(h) {
				return true
			}
		}
	}
	return false
}

// Match says whether a stored event satisfies every parameter of the query. It is pure.
func (q *Query) Match(ev *StoredEvent) bool {
	var m queried
	if json.Unmarshal(ev.Event, &m) != nil {
		return false
	}
	epcs := append(m.list("epcList"), m.list("childEPCs")...)
	parent := []string{}
	if p := m.text("parentID"); p != "" {
		parent = []string{CanonicalID(p)}
	}
	inputs, outputs := m.list("inputEPCList"), m.list("outputEPCList")
	switch {
	case len(q.EventTypes) > 0 && !slices.Contains(q.EventTypes, m.text("type")):
	case len(q.EPC) > 0 && !anyIn(q.EPC, epcs):
	case len(q.AnyEPC) > 0 && !anyIn(q.AnyEPC, slices.Concat(epcs, parent, inputs, outputs)):
	case len(q.ParentID) > 0 && !anyIn(q.ParentID, parent):
	case len(q.InputEPC) > 0 && !anyIn(q.InputEPC, inputs):
	case len(q.OutputEPC) > 0 && !anyIn(q.OutputEPC, outputs):
	case len(q.Actions) > 0 && !slices.Contains(q.Actions, m.text("action")):
	case len(q.BizSteps) > 0 && !slices.Contains(q.BizSteps, cbvWord(m.text("bizStep"), "BizStep")):
	case len(q.Dispositions) > 0 && !slices.Contains(q.Dispositions, cbvWord(m.text("disposition"), "Disp")):
	case len(q.BizLocations) > 0 && !slices.Contains(q.BizLocations, m.place("bizLocation")):
	case len(q.ReadPoints) > 0 && !slices.Contains(q.ReadPoints, m.place("readPoint")):
	case !q.From.IsZero() || !q.To.IsZero():
		t, err := time.Parse(time.RFC3339Nano, m.text("eventTime"))
		return err == nil && (q.From.IsZero() || !t.Before(q.From)) && (q.To.IsZero() || t.Before(q.To))
	default:
		return true
	}
	return false
}

// RangeReader reads the state and scans a key prefix from a key on, in key order.
type RangeReader interface {
	identity.Reader
	IterateFrom(prefix, from []byte, fn func(k, v []byte) bool)
}

// QueryPage is one page of a query's answer: the events in ledger order and, when more
// may follow, the nextPageToken (the sequence number to go on after; 0: none).
type QueryPage struct {
	Events []*StoredEvent
	Next   uint64
}

// RunQuery answers one page of q for who: a regulator reads every event, a trading
// partner those indexed as visible to it (grantVisibility), anyone else nothing. It
// intersects the index lists of the parameters given (plan.go) and of the partner's
// visibility, reads only the events all of them hold, and checks each against the whole
// query (Match: also EQ_action and EQ_readPoint, which have no index).
func RunQuery(r RangeReader, who *identity.Identity, q *Query, pg Page) QueryPage {
	return runQuery(r, who, q, pg, MaxQueryScan)
}

// runQuery is RunQuery reading at most about budget index entries.
func runQuery(r RangeReader, who *identity.Identity, q *Query, pg Page, budget int) QueryPage {
	var out QueryPage
	if who == nil || !who.Active || !identity.TradingPartner(who.Role) {
		return out
	}
	p := q.plan(r, who)
	after := pg.After
	for {
		h := p.next(r, after, &budget)
		switch {
		case h.kind == hitNone:
			return out
		case h.kind == hitPartial:
			out.Next = h.seq
			return out
		case len(out.Events) == pg.PerPage:
			out.Next = after
			return out
		}
		after = h.seq
		if ev := GetEvent(r, DigestAt(r, h.seq)); ev != nil && q.Match(ev) {
			out.Events = append(out.Events, ev)
		}
		if budget <= 0 {
			out.Next = after
			return out
		}
	}
}

// plan is the index lists that answer q for who.
func (q *Query) plan(r RangeReader, who *identity.Identity) plan {
	var p plan
	add := func(u union) { p = append(p, u) }
	for _, m := range []struct {
		vals []EPCValue
		role byte
	}{{q.EPC, RoleEPC}, {q.AnyEPC, 0}, {q.ParentID, RoleParent}, {q.InputEPC, RoleInput}, {q.OutputEPC, RoleOutput}} {
		if len(m.vals) > 0 {
			add(epcUnion(m.vals, m.role))
		}
	}
	if len(q.BizLocations) > 0 {
		var u union
		for _, l := range q.BizLocations {
			u = append(u, &list{prefix: locIndex(l)})
		}
		add(u)
	}
	for _, f := range []struct {
		prefix string
		vals   []string
	}{{typePrefix, q.EventTypes}, {stepPrefix, q.BizSteps}, {dispPrefix, q.Dispositions}} {
		if len(f.vals) > 0 {
			add(fieldUnion(f.prefix, f.vals))
		}
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		add(timeUnion(r, q.From, q.To))
	}
	if who.Role != identity.Regulator {
		add(union{{prefix: visIndex(who.ID)}})
	}
	if len(p) == 0 { // a regulator asking for everything: ledger order
		add(union{{prefix: seqPrefix}})
	}
	return p
}
