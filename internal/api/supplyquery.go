package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// queryEvents is the EPCIS 2.0 REST query binding, GET /epcis/events: the events that
// match the standard's parameters (supply.ParseQuery) and that the signer may read
// (supply.RunQuery), one page at a time, as an EPCISQueryDocument. The next page is
// announced as GS1's OpenAPI does, by a Link header with rel="next" whose URL carries the
// same parameters and a nextPageToken.
//
// With proof=true (this node's extension, not GS1's) the page is a
// wire.ProvenQueryResponse instead: each event with the proof of its state value against
// the app hash at the answer's height, for the client to check offline.
func (s *Server) queryEvents(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	proof, err := proofParam(params)
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "%v", err))
		return
	}
	q, pg, err := supply.ParseQuery(withoutProof(params))
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "%v", err))
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who == nil || !who.Active || !supply.MayQuery(who.Role) {
		writeErr(w, notEntitled(who, "EPCIS events: a trading partner sees those it captured and those of items in its custody, a regulator all"))
		return
	}
	page := supply.RunQuery(v, who, q, pg)
	if proof {
		s.provenEvents(w, r, v, page)
		return
	}
	doc := wire.EPCISQueryDocument{Type: "EPCISQueryDocument", SchemaVersion: "2.0",
		CreationDate: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	doc.EPCISBody.QueryResults.QueryName = "SimpleEventQuery"
	list := []json.RawMessage{}
	ctx := newQueryContext()
	for i, ev := range page.Events {
		if !ctx.add(ev.Context) {
			// This event names a namespace prefix another event of the page binds to
			// another IRI: it starts the next page, so each event keeps its meaning.
			page.Next = page.Events[i-1].Seq
			break
		}
		list = append(list, withEventID(ev))
	}
	doc.Context = ctx.value()
	doc.EPCISBody.QueryResults.ResultsBody.EventList = list
	if page.Next != 0 {
		params.Set("nextPageToken", strconv.FormatUint(page.Next, 10))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+params.Encode()+`>; rel="next"`)
	}
	w.Header().Set("GS1-EPCIS-Version", "2.0.0")
	w.Header().Set("GS1-CBV-Version", "2.0.0")
	writeJSONAs(w, "application/ld+json", http.StatusOK, doc)
}

// withEventID is the event as captured, with its Event Hash ID as eventID when it has
// none (eventID is not part of the hash, so the event still hashes the same).
func withEventID(ev *supply.StoredEvent) json.RawMessage {
	var probe map[string]json.RawMessage
	if json.Unmarshal(ev.Event, &probe) != nil || probe["eventID"] != nil {
		return ev.Event
	}
	id, _ := json.Marshal(ev.HashID)
	body := bytes.TrimSpace(ev.Event)
	out := append([]byte(`{"eventID":`), id...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}

// queryContext is the @context of a query answer: the EPCIS context, the other context
// documents the events' captures named, and their namespace prefixes in one object.
type queryContext struct {
	urls   []string
	prefix map[string]json.RawMessage
}

func newQueryContext() *queryContext {
	return &queryContext{urls: []string{wire.EPCISContext}, prefix: map[string]json.RawMessage{}}
}

// add merges an event's document context; false if one of its prefixes is already bound
// to something else (nothing is merged then).
func (c *queryContext) add(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil {
		entries = []json.RawMessage{raw}
	}
	var urls []string
	prefix := map[string]json.RawMessage{}
	for _, e := range entries {
		var u string
		if json.Unmarshal(e, &u) == nil {
			urls = append(urls, u)
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) == nil {
			for k, v := range m {
				prefix[k] = v
			}
		}
	}
	for k, v := range prefix {
		if old, ok := c.prefix[k]; ok && !bytes.Equal(old, v) {
			return false
		}
	}
	for _, u := range urls {
		if !slices.Contains(c.urls, u) {
			c.urls = append(c.urls, u)
		}
	}
	for k, v := range prefix {
		c.prefix[k] = v
	}
	return true
}

func (c *queryContext) value() []any {
	out := make([]any, 0, len(c.urls)+1)
	for _, u := range c.urls {
		out = append(out, u)
	}
	if len(c.prefix) > 0 {
		out = append(out, c.prefix) // encoding/json writes a map's keys sorted
	}
	return out
}

// proofParam reads the proof parameter: absent or false, a plain EPCISQueryDocument; true,
// a proven answer.
func proofParam(params url.Values) (bool, error) {
	vals, ok := params["proof"]
	if !ok {
		return false, nil
	}
	if len(vals) != 1 || (vals[0] != "true" && vals[0] != "false") {
		return false, &supply.QueryError{Param: "proof", Reason: fmt.Sprintf("%q must be true or false", strings.Join(vals, ","))}
	}
	return vals[0] == "true", nil
}

func withoutProof(params url.Values) url.Values {
	out := url.Values{}
	for k, v := range params {
		if k != "proof" {
			out[k] = v
		}
	}
	return out
}

// provenEvents answers a query page with each event's proof (proof=true).
func (s *Server) provenEvents(w http.ResponseWriter, r *http.Request, v View, page supply.QueryPage) {
	resp := wire.ProvenQueryResponse{Height: v.Height(), Events: []wire.ProvenEvent{}}
	for _, ev := range page.Events {
		val, p, ok := s.prove(w, v, supply.EventKey(supply.Digest(ev.HashID)))
		if !ok {
			return
		}
		resp.AppHash = p.AppHash
		resp.Events = append(resp.Events, wire.ProvenEvent{HashID: ev.HashID, Event: ev, Value: val, Proof: p})
	}
	if page.Next != 0 {
		resp.Next = strconv.FormatUint(page.Next, 10)
		params := r.URL.Query()
		params.Set("nextPageToken", resp.Next)
		w.Header().Set("Link", "<"+r.URL.Path+"?"+params.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, resp)
}
