package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestPortalTrialSponsorAndIRB plays the sponsor's and the IRB's pages in Chromium against
// a real node. The IRB sees the new protocol awaiting its decision and no consent form,
// signs a review (still pending) and then an approval, and approves a consent document
// whose SHA-256 the ledger then holds. Participants are enrolled at two sites and one
// withdraws: the sponsor sees the counts per site, its overdue trial marked overdue, and
// exports the dataset, whose downloaded file hashes to the export event on the ledger.
// An amendment puts the protocol back on the IRB's page, with the consent form flagged as
// approved under an earlier version; a decision on the superseded version is refused.
func TestPortalTrialSponsorAndIRB(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, bob, irb, pat := e.ids["dr-alice"], e.ids["dr-bob"], e.ids["auditor"], e.ids["pat"]
	sendTx := func(ks *keys.Keystore, body tx.Body) {
		t.Helper()
		if _, err := e.cl.Send(ctx, ks, body); err != nil {
			t.Fatalf("%T by %s: %v", body, ks.Name, err)
		}
	}
	chainID, err := e.cl.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := keys.NewKeystore("p2")
	if err != nil {
		t.Fatal(err)
	}
	sendTx(p2, client.RegistrationFor(chainID, p2, identity.Patient, "", "", ""))
	protocol := func(primary string, completion string) trials.Protocol {
		return trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 10,
			Outcomes:          trials.Outcomes{Primary: []trials.Outcome{{Measure: primary, TimeFrame: "26 weeks"}}},
			Arms:              []trials.Arm{{Name: "drug"}, {Name: "placebo"}},
			Sites:             []trials.Site{{Name: "St Mary", Investigator: alice.ID}, {Name: "City Clinic", Investigator: bob.ID}},
			PrimaryCompletion: completion,
			ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active","title":"Glucose control"}`)}
	}
	sendTx(alice, &trials.RegisterBody{Trial: "GLU-3", IRB: irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
		Protocol: protocol("HbA1c change", "2030-01-01")})
	// A second trial whose results are long overdue (primary completion 2020).
	sendTx(alice, &trials.RegisterBody{Trial: "GLU-1", IRB: irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
		Protocol: protocol("Fasting glucose", "2020-01-01")})

	// The IRB: both protocols await a decision, and no consent form exists.
	iw := newWeb(t, e.base) // the IRB's refusals are tried without a browser, below
	secret := iw.enrol(e, "auditor")
	ib := newBrowser(t, e.base)
	ib.signInAgain(e, "auditor", secret)
	ib.open("/portal/auditor/irb")
	sec := `section.irb-trial[data-trial="GLU-3"]`
	ib.wantCount(`section.irb-trial[data-pending="true"]`, 2)
	ib.wantCount(sec+" .protocol-awaiting", 1)
	ib.wantCount(sec+" .form-awaiting", 1)
	ib.wantText(sec+" .protocol", "HbA1c change (26 weeks)")
	ib.shot("irb-awaiting")
	decide := func(meaning, reason string) {
		ib.open("/portal/auditor/irb")
		ib.set(sec+" .decide-meaning", meaning)
		ib.set(sec+" .decide-reason", reason)
		ib.act(click(sec + " button.decide"))
	}
	decide("review", "needs the DSMB charter")
	ib.wantText("#flash", "Signed (review) protocol version 1")
	ib.wantCount(sec+`[data-pending="true"]`, 1)
	ib.wantText(sec+" .protocol-awaiting", "Reviewed 1 time(s)")
	decide("approval", "full board, 2026-11-30")
	ib.wantText("#flash", "Signed (approval) protocol version 1")
	ib.wantCount(sec+`[data-pending="false"]`, 1)
	ib.wantCount(sec+" li.decision", 2)

	// A consent document, uploaded: the ledger holds its SHA-256.
	doc := []byte("Informed consent, GLU-3, version 1.\nYou may withdraw at any time.\n")
	docPath := filepath.Join(t.TempDir(), "consent-v1.txt")
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	ib.do(chromedp.SetUploadFiles(chromedp.CSS(sec+" .cf-document"), []string{docPath}))
	ib.set(sec+" .cf-categories", "general")
	ib.set(sec+" .cf-reason", "consent v1")
	ib.act(click(sec + " button.cf-approve"))
	ib.wantText("#flash", hex.EncodeToString(sum[:]))
	ib.wantCount(sec+` tr.form[data-digest="`+hex.EncodeToString(sum[:])+`"]`, 1)
	ib.wantCount(sec+" .form-awaiting", 0)
	tr, err := e.cl.Trial(ctx, "GLU-3")
	if err != nil || len(tr.ConsentForms) != 1 || tr.ConsentForms[0].Digest != hex.EncodeToString(sum[:]) || tr.Trial.Approved != 1 {
		t.Fatalf("on the ledger: %v %+v", err, tr)
	}

	// Enrolment at both sites; p2 withdraws.
	for _, en := range []struct {
		p, inv *keys.Keystore
		site   string
	}{{pat, alice, "St Mary"}, {p2, bob, "City Clinic"}} {
		sendTx(en.p, &consent.GrantBody{Grant: consent.Grant{Grantee: en.inv.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
		sendTx(en.inv, &trials.EnrolBody{Trial: "GLU-3", Participant: en.p.ID, Site: en.site, Arm: "drug", ConsentForm: 1})
	}
	sendTx(p2, &trials.WithdrawBody{Trial: "GLU-3"})

	// The sponsor: both trials, counts per site, the overdue one marked.
	sb := newBrowser(t, e.base)
	sb.enrol(e, "dr-alice")
	sb.open("/portal/provider/sponsored")
	ssec := `section.sponsored[data-trial="GLU-3"]`
	sb.wantCount("section.sponsored", 2)
	sb.wantCount(`section.sponsored[data-trial="GLU-1"][data-overdue="true"]`, 1)
	sb.wantText(`section.sponsored[data-trial="GLU-1"] .results`, "results overdue")
	sb.wantCount(ssec+`[data-overdue="false"]`, 1)
	sb.wantText(ssec+" .results", "not yet due")
	for site, want := range map[string][2]string{"St Mary": {"1", "0"}, "City Clinic": {"1", "1"}} {
		row := ssec + ` tr.site[data-site="` + site + `"]`
		if got := [2]string{sb.text(row + " td.enrolled"), sb.text(row + " td.withdrawn")}; got != want {
			t.Fatalf("%s: enrolled, withdrawn %v, want %v", site, got, want)
		}
	}
	page := eval[string](sb, `document.body.innerHTML`)
	if strings.Contains(page, pat.ID) || strings.Contains(page, p2.ID) {
		t.Fatal("the sponsor's page names a participant")
	}
	sb.wantCount(ssec+" tr.export", 0)
	sb.shot("sponsor-trials")

	// Export: the file downloaded hashes to the export event now on the ledger.
	var got struct {
		Status int
		Digest string
		Body   string
	}
	raw := eval[string](sb, `(() => { const f = document.querySelector('`+ssec+` form.export-form');
		return fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))})
			.then(async r => JSON.stringify({status: r.status, digest: r.headers.get('X-Dataset-SHA256'), body: await r.text()})); })()`,
		chromedp.EvalAwaitPromise)
	if err := json.Unmarshal([]byte(raw), &got); err != nil || got.Status != http.StatusOK {
		t.Fatalf("export: %v %.500s", err, raw)
	}
	fileSum := sha256.Sum256([]byte(got.Body))
	tr, err = e.cl.Trial(ctx, "GLU-3")
	if err != nil || len(tr.Exports) != 1 || tr.Exports[0].Digest != hex.EncodeToString(fileSum[:]) || got.Digest != tr.Exports[0].Digest {
		t.Fatalf("export on the ledger %+v, file sha256 %x, header %s", tr.Exports, fileSum, got.Digest)
	}
	if strings.Contains(got.Body, pat.ID) || strings.Contains(got.Body, p2.ID) {
		t.Fatal("the exported dataset names a participant")
	}
	sb.open("/portal/provider/sponsored")
	sb.wantCount(ssec+` tr.export[data-digest="`+got.Digest+`"]`, 1)
	sb.noProblems()

	// An amendment: the protocol awaits the IRB again, and the form predates it.
	sendTx(alice, &trials.AmendBody{Trial: "GLU-3", Protocol: protocol("HbA1c below 7%", "2030-01-01"), Sign: trials.Sign{Meaning: trials.Author, Reason: "new primary"}})
	ib.open("/portal/auditor/irb")
	ib.wantCount(sec+`[data-pending="true"]`, 1)
	ib.wantCount(sec+" .form-stale", 1)
	ib.wantText(sec+" .protocol", "the primary outcomes changed after enrolment started")
	ib.noProblems()

	// Refusals. A decision on the superseded version, or without a reason, changes nothing.
	iw.get("/portal/auditor/irb")
	resp, body := iw.post("/portal/auditor/irb/GLU-3/decisions", url.Values{"version": {"1"}, "meaning": {"approval"}, "reason": {"stale page"}})
	wantPage(t, resp, body, http.StatusForbidden, "trials/")
	resp, body = iw.post("/portal/auditor/irb/GLU-3/decisions", url.Values{"version": {"2"}, "meaning": {"approval"}, "reason": {" "}})
	wantPage(t, resp, body, http.StatusBadRequest, "Give the reason")
	resp, body = iw.post("/portal/auditor/irb/GLU-3/decisions", url.Values{"version": {"2"}, "meaning": {"author"}, "reason": {"x"}})
	wantPage(t, resp, body, http.StatusBadRequest, "approval or review")
	if tr, err := e.cl.Trial(ctx, "GLU-3"); err != nil || tr.Trial.Approved != 1 || tr.Trial.Decisions != 2 {
		t.Fatalf("a refused decision reached the ledger: %v %+v", err, tr.Trial)
	}
	// Dr Bob sponsors nothing: no trial on his page, and his export is not made.
	bw := newWeb(t, e.base)
	bw.enrol(e, "dr-bob")
	resp, body = bw.get("/portal/provider/sponsored")
	wantPage(t, resp, body, http.StatusOK, "You sponsor no trial")
	resp, body = bw.post("/portal/provider/sponsored/GLU-3/exports", url.Values{"reason": {"mine"}})
	wantPage(t, resp, body, http.StatusNotFound, "You do not sponsor trial GLU-3")
	// A patient gets neither page.
	pw := newWeb(t, e.base)
	pw.enrol(e, "pat")
	resp, body = pw.get("/portal/auditor/irb")
	wantPage(t, resp, body, http.StatusForbidden, "This page is for auditors")
	resp, body = pw.get("/portal/provider/sponsored")
	wantPage(t, resp, body, http.StatusForbidden, "This page is for providers")
	if tr, err := e.cl.Trial(ctx, "GLU-3"); err != nil || len(tr.Exports) != 1 {
		t.Fatalf("exports on the ledger: %v %d", err, len(tr.Exports))
	}
}
