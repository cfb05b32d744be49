package api

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Paging of suspect listings.
const (
	defaultSuspectPage = 100
	maxSuspectPage     = 1000
)

// suspects lists suspect-product events (DSCSA's notifications of illegitimate product):
// a regulator sees all of them, a trading partner those that involve it (it captured the
// event, or owned or was to receive an item it names). Paged by after=SEQ and limit=N.
func (s *Server) suspects(w http.ResponseWriter, r *http.Request) {
	after, limit, perr := seqPage(r, "a suspect event")
	if perr != nil {
		writeErr(w, perr)
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	var (
		list []*supply.Suspect
		more bool
	)
	switch {
	case who == nil:
		writeErr(w, notEntitled(nil, "suspect-product events"))
		return
	case who.Active && who.Role == identity.Regulator:
		list, more = supply.SuspectsAfter(v, after, limit)
	case who.Active && identity.TradingPartner(who.Role):
		list, more = supply.SuspectsOf(v, who.ID, after, limit)
	default:
		writeErr(w, notEntitled(who, "suspect-product events: regulators see all of them, a trading partner those that involve it"))
		return
	}
	resp := wire.SuspectsResponse{Height: v.Height(), Suspects: list}
	if resp.Suspects == nil {
		resp.Suspects = []*supply.Suspect{}
	}
	if more && len(list) > 0 {
		resp.Next = strconv.FormatUint(list[len(list)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}

// releases lists regulators' releases of quarantined items: a regulator sees all of
// them, a trading partner those naming an item in its custody. Paged by after=SEQ and
// limit=N, like the suspects.
func (s *Server) releases(w http.ResponseWriter, r *http.Request) {
	after, limit, perr := seqPage(r, "a release")
	if perr != nil {
		writeErr(w, perr)
		return
	}
	v := s.b.View()
	who, terr := s.epcisRequester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if who == nil || !who.Active || !identity.TradingPartner(who.Role) {
		writeErr(w, notEntitled(who, "releases from quarantine: regulators see all of them, a trading partner those of items in its custody"))
		return
	}
	list, next := supply.ReleasesFor(v, who, after, limit)
	resp := wire.ReleasesResponse{Height: v.Height(), Releases: list}
	if resp.Releases == nil {
		resp.Releases = []*supply.Release{}
	}
	if next != 0 {
		resp.Next = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}

// seqPage reads a page of a sequence-numbered listing: after=SEQ (the previous page's
// next, 0 for the first) and limit=N (1 to maxSuspectPage). what names the listed thing in
// the error ("a release").
func seqPage(r *http.Request, what string) (after uint64, limit int, _ *tx.Error) {
	q := r.URL.Query()
	after, err := strconv.ParseUint(cmp.Or(q.Get("after"), "0"), 10, 64)
	if err != nil {
		return 0, 0, Space.Err(CodeBadRequest, "after=%q must be the sequence number of %s (the next of the previous page)", q.Get("after"), what)
	}
	limit, err = strconv.Atoi(cmp.Or(q.Get("limit"), strconv.Itoa(defaultSuspectPage)))
	if err != nil || limit < 1 || limit > maxSuspectPage {
		return 0, 0, Space.Err(CodeBadRequest, "limit=%q must be 1 to %d", q.Get("limit"), maxSuspectPage)
	}
	return after, limit, nil
}
