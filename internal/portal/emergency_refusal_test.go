package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/emergency"
)

// TestPortalEmergencyRefusals tries, without a browser, to get past each check of the
// break-glass pages: a review of a declaration nobody justified yet, a verdict the ledger
// does not know, a malformed or unknown declaration id, a provider's review, a justification
// of someone else's declaration, a declaration without a reason, an opt-out of a category
// the patient does not have, and an opt-out change without the passphrase. Each is refused
// with a message a person can act on, and the ledger is unchanged.
func TestPortalEmergencyRefusals(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := strings.Replace(e.base, "localhost", "127.0.0.1", 1)
	pat, bob, alice := e.ids["pat"], e.ids["dr-bob"], e.ids["dr-alice"]
	breakGlassSetup(ctx, t, e)
	decl, err := e.cl.Declare(ctx, alice, emergency.DeclareBody{Patient: pat.ID, Reason: "collapsed", Window: 3600})
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		d, err := e.cl.As(alice).Declaration(ctx, decl)
		if err != nil {
			t.Fatal(err)
		}
		if d.Declaration.Justification != nil || d.Declaration.Review != nil {
			t.Fatalf("%s: the declaration changed: justification %+v, review %+v", what, d.Declaration.Justification, d.Declaration.Review)
		}
	}

	aud := newWeb(t, base)
	aud.enrol(e, "auditor")
	resp, body := aud.get("/portal/auditor/emergency/" + decl)
	wantPage(t, resp, body, http.StatusOK, "has not justified this access yet")
	if strings.Contains(body, `id="review-form"`) {
		t.Fatal("review form offered for an unjustified declaration")
	}
	resp, body = aud.post("/portal/auditor/emergency/"+decl+"/review", url.Values{"verdict": {"appropriate"}, "note": {"early"}})
	wantPage(t, resp, body, http.StatusBadRequest, "has no justification from the provider yet")
	resp, body = aud.post("/portal/auditor/emergency/"+decl+"/review", url.Values{"verdict": {"fine"}})
	wantPage(t, resp, body, http.StatusBadRequest, "Choose approve")
	unchanged("refused reviews")
	resp, body = aud.get("/portal/auditor/emergency/not-a-declaration")
	wantPage(t, resp, body, http.StatusBadRequest, "is not an emergency declaration id")
	resp, body = aud.get("/portal/auditor/emergency/e-0000000000000000")
	wantPage(t, resp, body, http.StatusNotFound, "No emergency declaration")
	resp, body = aud.post("/portal/auditor/emergency/e-0000000000000000/review", url.Values{"verdict": {"appropriate"}})
	wantPage(t, resp, body, http.StatusNotFound, "No emergency declaration")

	// Dr Bob may neither review nor justify Dr Alice's declaration; a declaration needs a reason.
	pw := newWeb(t, base)
	pw.enrol(e, "dr-bob")
	resp, body = pw.post("/portal/auditor/emergency/"+decl+"/review", url.Values{"verdict": {"appropriate"}})
	wantPage(t, resp, body, http.StatusForbidden, "This page is for auditors")
	resp, body = pw.post("/portal/provider/patients/"+pat.ID+"/emergency/"+decl+"/justify", url.Values{"justification": {"not mine"}})
	wantPage(t, resp, body, http.StatusBadRequest, "only the declaring provider")
	unchanged("justification by another provider")
	resp, body = pw.post("/portal/provider/patients/"+pat.ID+"/emergency", url.Values{"reason": {"  "}, "hours": {"2"}})
	wantPage(t, resp, body, http.StatusBadRequest, "Say why")
	if pe, err := e.cl.As(pat).PatientEmergency(ctx, pat.ID); err != nil || slices.ContainsFunc(pe.Declarations, func(d *emergency.Declaration) bool { return d.Provider == bob.ID }) {
		t.Fatalf("a declaration without a reason reached the ledger (%v)", err)
	}

	// The patient: an unknown category, or no passphrase, changes nothing.
	ptw := newWeb(t, base)
	ptw.enrol(e, "pat")
	ptw.get("/portal/patient/emergency")
	resp, body = ptw.post("/portal/patient/emergency/optouts", url.Values{"out": {"general", "no-such-category"}, "passphrase": {pass}})
	wantPage(t, resp, body, http.StatusBadRequest, "You have no records category no-such-category")
	resp, body = ptw.post("/portal/patient/emergency/optouts", url.Values{"out": {"general"}})
	wantPage(t, resp, body, http.StatusUnauthorized, "Wrong passphrase")
	pe, err := e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pe.OptedOut) != 0 || !slices.Equal(pe.Visible, []string{"general", "mental-health"}) {
		t.Fatalf("refused opt-out changes reached the ledger: opted out %v, visible %v", pe.OptedOut, pe.Visible)
	}
}
