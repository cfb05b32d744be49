package portal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// enrol signs name in for the first time and enrols an authenticator app; it returns the
// TOTP secret.
func (b *browser) enrol(e *env, name string) string {
	b.t.Helper()
	b.signIn(name, pass)
	b.wantPath("/portal/enrol")
	secret := b.text("#totp-secret")
	b.enterCode("#enrol-form", code(b.t, secret, e.clock.Now()))
	return secret
}

// signInAgain signs name in with a fresh TOTP code (the clock moves past the last step used).
func (b *browser) signInAgain(e *env, name, secret string) {
	b.t.Helper()
	e.clock.Add(31 * time.Second)
	b.signIn(name, pass)
	b.wantPath("/portal/second-factor")
	b.enterCode("#totp-form", code(b.t, secret, e.clock.Now()))
}

// fetchStatus runs JavaScript that fetches from the page (cookies included) and returns the
// HTTP status it resolves to.
func (b *browser) fetchStatus(js string) int {
	b.t.Helper()
	return eval[int](b, js, chromedp.EvalAwaitPromise)
}

// breakGlassSetup enrols two custodian institutions, has the patient escrow general and
// mental-health 2-of-2 with them, and has Dr Alice (who registered the patient) write one
// Observation in each of the two categories.
func breakGlassSetup(ctx context.Context, t *testing.T, e *env) ([]*keys.Keystore, map[string]*records.Meta) {
	t.Helper()
	pat, alice := e.ids["pat"], e.ids["dr-alice"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	chainID, err := e.cl.ChainIDOf(ctx)
	must(err)
	var custodians []*keys.Keystore
	for _, inst := range []string{"St Mary Hospital", "County General"} {
		c, err := keys.NewKeystore("escrow")
		must(err)
		_, err = e.cl.Send(ctx, e.reg, client.RegistrationFor(chainID, c, identity.Provider, inst+" escrow service", inst, "ESCROW"))
		must(err)
		must(e.cl.EnrolCustodian(ctx, e.reg, c.ID, inst))
		custodians = append(custodians, c)
	}
	must(e.cl.Escrow(ctx, pat, []string{"general", "mental-health"}, 2, nil))
	// Records of our own, written by Dr Alice who registered the patient.
	recs := map[string]*records.Meta{}
	for _, c := range []struct{ cat, text, value, unit string }{{"general", "Blood glucose", "5.4", "mmol/L"}, {"mental-health", "PHQ-9 score", "12", "{score}"}} {
		m, err := e.cl.PutRecord(ctx, alice, client.NewRecord{Patient: pat.ID, Category: c.cat, ResourceType: "Observation", ContentType: "application/fhir+json",
			Plaintext: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"` + c.text + `"},"effectiveDateTime":"2026-01-02T10:00:00Z","valueQuantity":{"value":` + c.value + `,"unit":"` + c.unit + `"}}`)})
		must(err)
		recs[c.cat] = m
	}
	return custodians, recs
}

// TestPortalEmergencyStory plays break-glass through the portal in headless Chromium against
// a real node. The patient escrowed general and mental-health records 2-of-2 with two
// custodian institutions. Dr Bob, who holds no grant, declares an emergency (Go client); the
// custodians release their shares; he reads. The patient signs in and is alerted, sees who
// read what under which reason; the alert is gone once seen. Dr Bob sees his open
// emergency on the patient's page, reads there under it and justifies it. The auditor sees
// the declaration with its justification and reads, and records a review; the patient then
// sees the verdict. The patient opts mental-health out in the portal, and a new declaration
// covers and releases nothing of it; opting back in escrows it again. Dr Alice declares in the
// portal and her note is an urgent write under it. Along the way: another role's review form URL (403), a
// review posted without or with a wrong CSRF token, a flag without a comment, and an opt-out
// change with a wrong passphrase are each refused and change nothing.
func TestPortalEmergencyStory(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pat, bob, alice := e.ids["pat"], e.ids["dr-bob"], e.ids["dr-alice"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	custodians, recs := breakGlassSetup(ctx, t, e)
	// release is a pass of each custodian's node; want < 0: any number.
	release := func(want int) {
		t.Helper()
		for _, c := range custodians {
			n, err := e.cl.ReleaseShares(ctx, c)
			must(err)
			if want >= 0 && n != want {
				t.Fatalf("custodian released %d shares, want %d", n, want)
			}
		}
	}

	// Dr Bob has no grant: a treatment read is denied. He breaks the glass and reads.
	if _, err := e.cl.ReadRecord(ctx, bob, pat.ID, recs["general"].RecordID, consent.Treatment); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("Dr Bob's read without a grant: %v", err)
	}
	const reason = "unconscious after a fall, medication history needed"
	decl, err := e.cl.Declare(ctx, bob, emergency.DeclareBody{Patient: pat.ID, Reason: reason, Window: 2 * 3600})
	must(err)
	release(2)
	r, err := e.cl.EmergencyRead(ctx, bob, pat.ID, recs["general"].RecordID)
	must(err)
	if !strings.Contains(string(r.Plaintext), "Blood glucose") {
		t.Fatalf("emergency read decrypted %q", r.Plaintext)
	}

	// The patient signs in: an alert names Dr Bob, his institution and his reason.
	b := newBrowser(t, e.base)
	psecret := b.enrol(e, "pat")
	b.wantPath("/portal/patient")
	for _, want := range []string{"Emergency access to your records", "Dr Bob", "City Clinic", reason} {
		b.wantText("#emergency-banner", want)
	}
	b.shot("patient-emergency-banner")
	b.act(click("#emergency-link"))
	b.wantPath("/portal/patient/emergency")
	sel := fmt.Sprintf(`section.declaration[data-declaration="%s"]`, decl)
	b.wantCount(sel, 1)
	b.wantText(sel+" h3", "Dr Bob, City Clinic")
	b.wantText(sel+" .reason", reason)
	b.wantText(sel+" .categories", "general, mental-health")
	b.wantText(sel+" .released", "general by St Mary Hospital, County General")
	b.wantText(sel+" .justification", "not yet justified")
	b.wantCount(fmt.Sprintf(`%s tr.eaccess[data-action="record.read"][data-record="%s"][data-outcome=success]`, sel, recs["general"].RecordID), 1)
	// Seen: the alert is gone from the home page.
	b.open("/portal/patient")
	b.wantCount("#emergency-banner", 0)

	// Another role's pages, and the auditor's review form, are refused.
	b.open("/portal/auditor/emergency/" + decl)
	b.wantText("#error", "This page is for auditors")
	b.open("/portal/auditor/emergency")
	b.wantText("#error", "This page is for auditors")

	// A wrong passphrase changes no opt-out.
	b.open("/portal/patient/emergency")
	b.do(click(`input[name=out][value="mental-health"]`))
	b.set("#optout-passphrase", "not the passphrase")
	b.act(click("#save-optouts"))
	b.wantText("#error", "Wrong passphrase")
	b.wantCount(`tr.optout[data-category="mental-health"][data-out=false]`, 1)
	pe, err := e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	must(err)
	if len(pe.OptedOut) != 0 || !slices.Equal(pe.Visible, []string{"general", "mental-health"}) {
		t.Fatalf("after a wrong passphrase: opted out %v, visible %v", pe.OptedOut, pe.Visible)
	}
	b.signOut()

	// Dr Bob: the patient is on his list under the emergency; the page reads for
	// emergency treatment and opens both categories; he justifies there.
	b.enrol(e, "dr-bob")
	b.wantPath("/portal/provider")
	b.wantText(fmt.Sprintf(`tr.patient[data-patient="%s"] td.emergency`, pat.ID), "open until")
	b.open("/portal/provider/patients/" + pat.ID)
	b.wantText("#emergency-active", decl)
	b.wantText("#record-count", "Read for emergency")
	b.wantCount("li.entry[data-type=Observation]", 2)
	b.wantCount("li.entry .error", 0)
	b.shot("provider-emergency")
	b.open("/portal/auditor/emergency/" + decl)
	b.wantText("#error", "This page is for auditors")
	b.open("/portal/provider/patients/" + pat.ID)
	const justification = "GCS 7 on arrival; anticoagulant status needed before surgery"
	b.set(".justify-form textarea", justification)
	b.act(submit(".justify-form textarea"))
	b.wantText("#flash", "Justification of "+decl)
	b.signOut()

	// The auditor: the declaration with its justification and reads; a review.
	b.enrol(e, "auditor")
	b.open("/portal/auditor/emergency")
	row := fmt.Sprintf(`tr.emergency[data-declaration="%s"]`, decl)
	b.wantCount(row+`[data-state="awaiting review"]`, 1)
	b.wantText(row, justification)
	b.wantText(row, "Dr Bob")
	b.act(click(row + " a"))
	b.wantPath("/portal/auditor/emergency/" + decl)
	b.shot("auditor-emergency")
	if n := b.count(`tr.eaccess[data-action="record.read"][data-outcome=success]`); n < 3 { // one by the client, two on the portal page
		t.Fatalf("%d reads under the declaration shown to the auditor, want at least 3", n)
	}
	// Without the session's CSRF token, or with another, the review is refused.
	post := `fetch('/portal/auditor/emergency/` + decl + `/review', {method: 'POST', body: new URLSearchParams(%s)}).then(r => r.status)`
	if st := b.fetchStatus(fmt.Sprintf(post, `{verdict: 'appropriate', note: 'forged'}`)); st != 403 {
		t.Fatalf("review without a CSRF token: status %d", st)
	}
	if st := b.fetchStatus(fmt.Sprintf(post, `{verdict: 'appropriate', note: 'forged', csrf: 'AAAA'}`)); st != 403 {
		t.Fatalf("review with a wrong CSRF token: status %d", st)
	}
	// Flagging needs a comment.
	b.do(click("#verdict-inappropriate"))
	b.act(click("#record-review"))
	b.wantText("#error", "Say why")
	if d, err := e.cl.As(bob).Declaration(ctx, decl); err != nil || d.Declaration.Review != nil {
		t.Fatalf("a refused review reached the ledger: %+v %v", d.Declaration.Review, err)
	}
	b.do(click("#verdict-appropriate"))
	b.set("#review-note", "documented trauma call")
	b.act(click("#record-review"))
	b.wantText("#flash", "Review recorded")
	b.wantText(`section.declaration .review`, "appropriate: documented trauma call")
	b.wantCount("#review-form", 0)
	d, err := e.cl.As(bob).Declaration(ctx, decl)
	must(err)
	if d.Declaration.Review == nil || d.Declaration.Review.Verdict != emergency.Appropriate || d.Declaration.Review.Auditor != e.ids["auditor"].ID {
		t.Fatalf("review on the ledger: %+v", d.Declaration.Review)
	}
	b.open("/portal/patient/emergency")
	b.wantText("#error", "This page is for patients")
	// The patient's and Dr Bob's attempts at the review form are in the sign-in log.
	b.open("/portal/auditor")
	if n := eval[int](b, fmt.Sprintf(`[...document.querySelectorAll('tr.signin[data-event="access.refused"]')].filter(r => r.innerText.includes(%q)).length`, "/portal/auditor/emergency/"+decl)); n != 2 {
		t.Fatalf("%d refused attempts at the review form in the sign-in log, want 2", n)
	}
	b.signOut()

	// The patient: told the access was reviewed, and sees the verdict.
	b.signInAgain(e, "pat", psecret)
	b.wantPath("/portal/patient")
	b.wantText("#emergency-banner", "justified or reviewed since")
	b.open("/portal/patient/emergency")
	b.wantText(sel+" .review", "appropriate: documented trauma call")
	b.wantText(sel+" .justification", justification)
	b.shot("patient-emergency")

	// A revocation in the portal rotates the general key and escrows the new version.
	g, err := e.cl.Grant(ctx, pat, consent.Grant{Grantee: alice.ID, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment},
		Scope: consent.Scope{Categories: []string{"general"}}})
	must(err)
	b.open("/portal/patient/consents")
	b.set(fmt.Sprintf(`tr.grant[data-grant="%s"] input[name=passphrase]`, g), pass)
	b.act(submit(fmt.Sprintf(`tr.grant[data-grant="%s"] input[name=passphrase]`, g)))
	b.wantText("#flash", "Escrowed again for emergencies: general")
	pe, err = e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	must(err)
	if !slices.ContainsFunc(pe.Escrows, func(x *emergency.Escrow) bool { return x.Category == "general" && x.Version == 2 && x.Threshold == 2 }) {
		t.Fatalf("no escrow of the rotated general key: %+v", pe.Escrows)
	}

	// Opt mental-health out, with the passphrase.
	b.open("/portal/patient/emergency")
	b.do(click(`input[name=out][value="mental-health"]`))
	b.set("#optout-passphrase", pass)
	b.act(click("#save-optouts"))
	b.wantText("#flash", "Opted out of break-glass: mental-health")
	b.wantCount(`tr.optout[data-category="mental-health"][data-out=true]`, 1)
	pe, err = e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	must(err)
	if !slices.Equal(pe.OptedOut, []string{"mental-health"}) || !slices.Equal(pe.Visible, []string{"general"}) {
		t.Fatalf("after opting out: opted out %v, visible %v", pe.OptedOut, pe.Visible)
	}
	// A new declaration covers, and custodians release, general only; mental-health stays shut.
	decl2, err := e.cl.Declare(ctx, bob, emergency.DeclareBody{Patient: pat.ID, Reason: "second admission", Window: 2 * 3600})
	must(err)
	release(-1) // general v1 and v2, and v2 for the first declaration too
	d, err = e.cl.As(bob).Declaration(ctx, decl2)
	must(err)
	if !slices.Equal(d.Declaration.Categories, []string{"general"}) || len(d.Declaration.Releases) != 4 || slices.ContainsFunc(d.Declaration.Releases, func(r emergency.Release) bool { return r.Category != "general" }) {
		t.Fatalf("new declaration covers %v, releases %+v", d.Declaration.Categories, d.Declaration.Releases)
	}
	if _, err := e.cl.EmergencyRead(ctx, bob, pat.ID, recs["mental-health"].RecordID); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("emergency read of an opted-out category: %v", err)
	}
	// Opting back in escrows the category again, like the remaining escrow (2 of 2).
	b.do(click(`input[name=out][value="mental-health"]`))
	b.set("#optout-passphrase", pass)
	b.act(click("#save-optouts"))
	b.wantText("#flash", "Opted back in: mental-health")
	b.wantText("#flash", "escrowed again, 2 of 2")
	pe, err = e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	must(err)
	if len(pe.OptedOut) != 0 || !slices.Contains(pe.Visible, "mental-health") {
		t.Fatalf("after opting back in: opted out %v, visible %v", pe.OptedOut, pe.Visible)
	}
	b.signOut()

	// Dr Alice breaks the glass in the portal: a window over the maximum is refused; then
	// her page reads under the declaration and a note she writes is an urgent write naming it.
	b.enrol(e, "dr-alice")
	b.open("/portal/provider/patients/" + pat.ID)
	b.wantCount("#emergency-active", 0)
	b.set("#declare-reason", "found collapsed in the waiting room")
	b.set("#declare-hours", "48")
	b.act(click("#declare"))
	b.wantText("#error", "whole number of hours")
	b.set("#declare-reason", "found collapsed in the waiting room")
	b.set("#declare-hours", "2")
	b.act(click("#declare"))
	b.wantText("#flash", "Emergency declared")
	pe, err = e.cl.As(pat).PatientEmergency(ctx, pat.ID)
	must(err)
	last := pe.Declarations[len(pe.Declarations)-1]
	if last.Provider != alice.ID || last.Reason != "found collapsed in the waiting room" || last.Expiry.Sub(last.Start) != 2*time.Hour {
		t.Fatalf("declaration from the portal: %+v", last)
	}
	b.wantText("#emergency-active", last.ID)
	b.wantText("#record-count", "Read for emergency")
	b.set("#note", "Seen under emergency.")
	b.act(click("#save-note"))
	b.wantText("#flash", "Note saved")
	writes, err := e.cl.AuditQuery(ctx, e.ids["auditor"], audit.Filter{Actor: alice.ID, Action: audit.RecordWrite})
	must(err)
	if n := len(writes.Events); n == 0 || writes.Events[n-1].Emergency != last.ID {
		t.Fatalf("the portal note is not an urgent write under %s: %+v", last.ID, writes.Events)
	}
	b.noProblems()
}
