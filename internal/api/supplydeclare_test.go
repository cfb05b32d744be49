package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// fixedDoc is a capture document of whole events (with their time), so that an event can
// be captured again as its own error declaration.
func fixedDoc(events ...string) []byte {
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
}

// releasesAs lists the releases as ks (nil: unsigned), with its HTTP status.
func (ch *chain) releasesAs(ks *keys.Keystore) (*wire.ReleasesResponse, int) {
	ch.t.Helper()
	req, err := http.NewRequestWithContext(ch.ctx, http.MethodGet, ch.c.Base+"/epcis/releases", nil)
	if err != nil {
		ch.t.Fatal(err)
	}
	if ks != nil {
		chainID, err := ch.c.ChainIDOf(ch.ctx)
		if err != nil {
			ch.t.Fatal(err)
		}
		identity.SignQuery(req.Header, chainID, ks.ID, ks.Keys.Sign, http.MethodGet, req.URL.RequestURI(), time.Now())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ch.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out wire.ReleasesResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			ch.t.Fatal(err)
		}
	}
	return &out, resp.StatusCode
}

// TestSupplyDeclarationAndReleaseOverHTTP: on a real node, Acme declares a shipment
// erroneous through the capture endpoint (GS1's schema accepts the declaration); the
// event read back, the query answer and the trace all carry the declaration, and the
// query answer still hashes to the event's id. A regulator's release (type 92) clears a
// quarantine; a manufacturer's is refused; the releases are listed to those entitled.
func TestSupplyDeclarationAndReleaseOverHTTP(t *testing.T) {
	ch := newChain(t)
	pack := "urn:epc:id:sgtin:4012345.012345.4001"
	ch.capture(ch.acme, commissionEvent("L4", "2027-06-30", pack))
	ship := `{` + shipEvent(toWholesaler, pack) + `,"eventTime":"2026-01-09T10:00:00Z","eventTimeZoneOffset":"+00:00"`
	first, err := ch.c.Capture(ch.ctx, ch.acme, fixedDoc(ship+`}`))
	if err != nil {
		t.Fatal(err)
	}
	hashID := first.Events[0].HashID

	decl := fixedDoc(ship + `,"errorDeclaration":{"declarationTime":"2026-01-10T00:00:00Z","reason":"did_not_occur"}}`)
	_, err = ch.c.Capture(ch.ctx, ch.wholesaler, decl)
	clientErr(t, "the wholesaler declares Acme's shipment erroneous", err, http.StatusForbidden, supply.Space, supply.CodeNotCapturer)
	got, err := ch.c.Capture(ch.ctx, ch.acme, decl)
	if err != nil {
		t.Fatal(err)
	}
	if e := got.Events[0]; e.HashID != hashID || e.New || !e.Declared {
		t.Fatalf("the declaration answered %+v", e)
	}

	ev, err := ch.c.As(ch.acme).EPCISEvent(ch.ctx, hashID)
	if err != nil || ev.Declaration == nil || ev.Declaration.Custody != supply.CustodyUndone || ev.Declaration.Reason != supply.ErrorDidNotOccur {
		t.Fatalf("the declared event read back: %+v, %v", ev, err)
	}
	doc, _, err := ch.c.As(ch.acme).QueryEvents(ch.ctx, url.Values{"MATCH_epc": {pack}, "EQ_bizStep": {"shipping"}})
	if err != nil {
		t.Fatal(err)
	}
	list := doc.EPCISBody.QueryResults.ResultsBody.EventList
	var answered struct {
		ErrorDeclaration struct{ DeclarationTime, Reason string }
	}
	if len(list) != 1 || json.Unmarshal(list[0], &answered) != nil ||
		answered.ErrorDeclaration.DeclarationTime != "2026-01-10T00:00:00Z" || answered.ErrorDeclaration.Reason != "did_not_occur" {
		t.Fatalf("the query answer does not carry the declaration: %s", list)
	}
	b, _ := json.Marshal(doc)
	if hashed, err := epcis.HashDocument(b); err != nil || len(hashed) != 1 || hashed[0].HashID != hashID {
		t.Fatalf("the answered declared event hashes to %v (%v), want %s", hashed, err, hashID)
	}
	tr, appHash := ch.trusted(ch.acme, pack)
	if err := tr.Verify(appHash); err != nil {
		t.Fatalf("the trace with a declared event does not verify: %v", err)
	}
	marked := false
	for _, e := range tr.Events {
		marked = marked || (e.HashID == hashID && e.Event.Declaration != nil)
	}
	if !marked {
		t.Fatal("the trace does not show the declaration")
	}
	if tr.Items[0].Item.Status != supply.StatusActive || tr.Items[0].Item.ShippedTo != "" {
		t.Fatalf("the pack after its shipment was declared erroneous: %+v", tr.Items[0].Item)
	}

	// The wholesaler, never meant to get it, receives it anyway: quarantined.
	if s := ch.capture(ch.wholesaler, observeEvent("receiving", pack)); len(s) != 1 {
		t.Fatalf("the receipt raised %v", s)
	}
	release := &supply.ReleaseBody{Items: []string{pack}, Reason: "the wholesaler scanned a pack on Acme's dock"}
	_, err = ch.c.Send(ch.ctx, ch.acme, release)
	clientErr(t, "a manufacturer releases its own pack", err, http.StatusForbidden, supply.Space, supply.CodeUnauthorized)
	if _, err := ch.c.Send(ch.ctx, ch.fda, release); err != nil {
		t.Fatal(err)
	}
	_, err = ch.c.Send(ch.ctx, ch.fda, release)
	clientErr(t, "releasing again", err, http.StatusConflict, supply.Space, supply.CodeNotQuarantined)

	for _, c := range []struct {
		who  *keys.Keystore
		n    int
		code int
	}{{ch.fda, 1, 200}, {ch.acme, 1, 200}, {ch.wholesaler, 1, 200}, {ch.rival, 0, 200}, {nil, 0, 401}, {ch.reg, 0, 403}} {
		got, code := ch.releasesAs(c.who)
		if code != c.code || len(got.Releases) != c.n {
			t.Fatalf("releases as %v: HTTP %d, %+v", c.who, code, got)
		}
		if c.n == 1 && (got.Releases[0].By != ch.fda.ID || got.Releases[0].Reason != release.Reason) {
			t.Fatalf("the release: %+v", got.Releases[0])
		}
	}
	// Released, the pack moves again: Acme ships it, properly this time.
	if s := ch.capture(ch.acme, shipEvent(toPharmacy, pack)); len(s) != 0 {
		t.Fatalf("shipping the released pack raised %v", s)
	}
}
