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
	EPC          []string // MATCH_epc: epcList, childEPCs
	AnyEPC       []string // MATCH_anyEPC: also parentID, inputEPCList, outputEPCList
	ParentID     []string
	InputEPC     []string
	OutputEPC    []string
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
		ids := func(dst *[]string) error {
			for _, v := range vals {
				if strings.Contains(v, "idpat") || strings.Contains(v, "*") {
					return &QueryError{name, fmt.Sprintf("%q is an EPC pattern; this node matches exact identifiers (EPC URI or GS1 Digital Link) only", v)}
				}
				*dst = append(*dst, CanonicalID(v))
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
			err = ids(&q.EPC)
		case "MATCH_anyEPC":
			err = ids(&q.AnyEPC)
		case "MATCH_parentID":
			err = ids(&q.ParentID)
		case "MATCH_inputEPC":
			err = ids(&q.InputEPC)
		case "MATCH_outputEPC":
			err = ids(&q.OutputEPC)
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

func anyIn(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
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
// reads one index: the one of a single identifier or location the query names, else the
// partner's visibility index, else (a regulator) ledger order; the other parameters are
// checked on each event.
func RunQuery(r RangeReader, who *identity.Identity, q *Query, pg Page) QueryPage {
	var out QueryPage
	if who == nil || !who.Active || !identity.TradingPartner(who.Role) {
		return out
	}
	regulator := who.Role == identity.Regulator
	prefix, role := seqPrefix, byte(0)
	switch {
	case len(q.EPC) == 1:
		prefix, role = epcIndex(q.EPC[0]), RoleEPC
	case len(q.AnyEPC) == 1:
		prefix = epcIndex(q.AnyEPC[0])
	case len(q.ParentID) == 1:
		prefix, role = epcIndex(q.ParentID[0]), RoleParent
	case len(q.InputEPC) == 1:
		prefix, role = epcIndex(q.InputEPC[0]), RoleInput
	case len(q.OutputEPC) == 1:
		prefix, role = epcIndex(q.OutputEPC[0]), RoleOutput
	case len(q.BizLocations) == 1:
		prefix = locIndex(q.BizLocations[0])
	case !regulator:
		prefix = visIndex(who.ID)
	}
	byVisibility := prefix == visIndex(who.ID)
	scanned := 0
	r.IterateFrom([]byte(prefix), []byte(prefix+seqText(pg.After+1)), func(k, v []byte) bool {
		seq, ok := seqOf(k, prefix)
		if !ok {
			return true
		}
		if scanned == MaxQueryScan || len(out.Events) == pg.PerPage {
			out.Next = pg.After
			return false
		}
		scanned++
		pg.After = seq
		if role != 0 && (len(v) != 1 || v[0]&role == 0) {
			return true
		}
		if !regulator && !byVisibility && !Visible(r, who.ID, seq) {
			return true
		}
		ev := GetEvent(r, DigestAt(r, seq))
		if ev != nil && q.Match(ev) {
			out.Events = append(out.Events, ev)
		}
		return true
	})
	return out
}
