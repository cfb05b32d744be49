package scenario

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

// emergencyStory adds to the consent story three custodian institutions, an emergency
// physician at a hospital the patient never consented to, and the patient's escrow.
type emergencyStory struct {
	*story
	custodians []*keys.Keystore // St Mary, City Clinic, County General: 2 of 3 rebuild a key
	er         *keys.Keystore   // emergency physician, County General
	recs       map[string]*records.Meta
	plain      map[string]string
}

func newEmergencyStory(t *testing.T) *emergencyStory {
	s := &emergencyStory{story: newStory(t), recs: map[string]*records.Meta{}, plain: map[string]string{}}
	chainID, err := s.c.ChainIDOf(s.ctx)
	s.must(err)
	s.er = s.ks("dr-er")
	s.send(s.reg, client.RegistrationFor(chainID, s.er, identity.Provider, "Dr ER", "County General", "MD-ER"))
	for _, inst := range []string{"St Mary", "City Clinic", "County General"} {
		c := s.ks("escrow")
		s.send(s.reg, client.RegistrationFor(chainID, c, identity.Provider, inst+" escrow service", inst, "ESCROW"))
		s.must(s.c.EnrolCustodian(s.ctx, s.reg, c.ID, inst))
		s.custodians = append(s.custodians, c)
	}
	_, err = s.c.PublishCategories(s.ctx, s.patient, []string{"hiv"})
	s.must(err)
	obs, _ := syntheaObservations(t, 4)
	for i, cat := range []string{"general", "mental-health", "hiv"} {
		s.plain[cat] = string(obs[i])
		s.recs[cat] = s.write(s.a, cat, "Observation", s.plain[cat])
	}
	return s
}

// emergencyRead reads under a declaration and returns the plaintext.
func (s *emergencyStory) emergencyRead(who *keys.Keystore, m *records.Meta) (string, error) {
	r, err := s.c.EmergencyRead(s.ctx, who, s.patient.ID, m.RecordID)
	if err != nil {
		return "", err
	}
	return string(r.Plaintext), nil
}

func (s *emergencyStory) release(c *keys.Keystore, want int) {
	s.t.Helper()
	n, err := s.c.ReleaseShares(s.ctx, c)
	s.must(err)
	if n != want {
		s.t.Fatalf("custodian released %d shares, want %d", n, want)
	}
}

func TestEmergencyBreakGlassStory(t *testing.T) {
	s := newEmergencyStory(t)
	t.Log("Only the registrar enrols custodians.")
	refused(t, "enrol by a provider", s.c.EnrolCustodian(s.ctx, s.a, s.er.ID, "County General"), http.StatusForbidden, emergency.Space, emergency.CodeUnauthorized)

	t.Log("The patient opts HIV out of break-glass and escrows general and mental-health 2-of-3.")
	s.must(s.c.OptOut(s.ctx, s.patient, []string{"hiv"}, false))
	refused(t, "escrow of an opted-out category", s.c.Escrow(s.ctx, s.patient, []string{"hiv"}, 2, nil), http.StatusForbidden, emergency.Space, emergency.CodeOptedOut)
	_, err := s.c.Send(s.ctx, s.patient, &emergency.EscrowBody{Category: "general", Version: 1, Threshold: 1,
		Shares: []emergency.EscrowShare{{Custodian: s.custodians[0].ID, Sealed: make([]byte, emergency.SealedShareSize)}}})
	refused(t, "1-of-1 escrow", err, http.StatusBadRequest, emergency.Space, emergency.CodeInvalid)
	s.must(s.c.Escrow(s.ctx, s.patient, []string{"general", "mental-health"}, 2, nil))
	pe, err := s.c.As(s.patient).PatientEmergency(s.ctx, s.patient.ID)
	s.must(err)
	if !slices.Equal(pe.Visible, []string{"general", "mental-health"}) || !slices.Equal(pe.OptedOut, []string{"hiv"}) {
		t.Fatalf("visible %v, opted out %v", pe.Visible, pe.OptedOut)
	}

	t.Log("A break-glass read without a declaration is denied, and recorded.")
	_, err = s.emergencyRead(s.er, s.recs["general"])
	if !errors.Is(err, client.ErrDenied) || !strings.Contains(err.Error(), "no emergency declaration") {
		t.Fatalf("break-glass read without declaration: %v", err)
	}
	deniedBG := func(e *audit.Event) bool {
		return e.Action == audit.RecordRead && e.Actor == s.er.ID && e.Purpose == consent.Emergency && e.Outcome == audit.Denied
	}
	if n := s.countEvents(deniedBG); n != 1 {
		t.Fatalf("%d denied break-glass events, want 1", n)
	}
	_, err = s.c.Send(s.ctx, s.custodians[0], &emergency.ReleaseBody{Declaration: "e-0000000000000000", Category: "general", Version: 1,
		Sealed: make([]byte, emergency.SealedShareSize)})
	refused(t, "release without a declaration", err, http.StatusNotFound, emergency.Space, emergency.CodeNotFound)

	t.Log("An opted-out category cannot be declared.")
	_, err = s.c.Declare(s.ctx, s.er, emergency.DeclareBody{Patient: s.patient.ID, Reason: "overdose", Categories: []string{"hiv"}})
	refused(t, "declare an opted-out category", err, http.StatusForbidden, emergency.Space, emergency.CodeOptedOut)
	_, err = s.c.Declare(s.ctx, s.patient, emergency.DeclareBody{Patient: s.patient.ID, Reason: "me"})
	refused(t, "a patient declares", err, http.StatusForbidden, emergency.Space, emergency.CodeUnauthorized)

	t.Log("The emergency physician declares; the patient is notified.")
	decl, err := s.c.Declare(s.ctx, s.er, emergency.DeclareBody{Patient: s.patient.ID, Reason: "unconscious after a road accident"})
	s.must(err)
	notes, err := s.c.AuditQuery(s.ctx, s.patient, audit.Filter{Action: audit.EmergencyDeclare})
	s.must(err)
	if len(notes.Events) != 1 || notes.Events[0].Emergency != decl || notes.Events[0].Actor != s.er.ID || notes.Events[0].Purpose != consent.Emergency {
		t.Fatalf("the patient does not see the declaration: %+v", notes.Events)
	}
	pe, err = s.c.As(s.patient).PatientEmergency(s.ctx, s.patient.ID)
	s.must(err)
	if len(pe.Declarations) != 1 || !slices.Equal(pe.Declarations[0].Categories, []string{"general", "mental-health"}) {
		t.Fatalf("declarations %+v", pe.Declarations)
	}

	t.Log("The node releases ciphertext, but with no share released the key cannot be rebuilt.")
	if _, err := s.emergencyRead(s.er, s.recs["general"]); !errors.Is(err, emergency.ErrReconstruct) {
		t.Fatalf("read with no shares: %v", err)
	}
	t.Log("One institution (k-1) releases: still no key.")
	s.release(s.custodians[0], 2)
	if _, err := s.emergencyRead(s.er, s.recs["general"]); !errors.Is(err, emergency.ErrReconstruct) {
		t.Fatalf("read with k-1 shares: %v", err)
	}
	s.release(s.custodians[0], 0) // nothing more to release
	// What the custodian is shown (no reason) is enough to re-seal its share.
	r, err := s.c.As(s.custodians[0]).Declaration(s.ctx, decl)
	s.must(err)
	rel, err := emergency.Reseal(s.custodians[0], r.Escrows[0], r.Declaration, identityOf(t, s, s.er.ID))
	s.must(err)
	_, err = s.c.Send(s.ctx, s.custodians[0], rel)
	refused(t, "second release by one custodian", err, http.StatusConflict, emergency.Space, emergency.CodeDuplicate)

	t.Log("A second institution releases: the declaring physician reads general and mental-health.")
	s.release(s.custodians[1], 2)
	for _, cat := range []string{"general", "mental-health"} {
		pt, err := s.emergencyRead(s.er, s.recs[cat])
		s.must(err)
		if pt != s.plain[cat] {
			t.Fatalf("%s: decrypted something else", cat)
		}
	}
	t.Log("Listing under the declaration shows the covered categories only.")
	listed, err := s.c.ListRecords(s.ctx, s.er, s.patient.ID, consent.Emergency)
	s.must(err)
	var cats []string
	for _, m := range listed {
		cats = append(cats, m.Category)
	}
	slices.Sort(cats)
	if !slices.Equal(cats, []string{"general", "mental-health"}) {
		t.Fatalf("emergency list shows categories %v", cats)
	}
	if _, err := s.c.ListRecords(s.ctx, s.er, s.patient.ID, consent.Treatment); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("a list for treatment under an emergency declaration: %v", err)
	}

	t.Log("Only the declaring provider: another provider can neither read nor rebuild the key.")
	_, err = s.c.EmergencyKey(s.ctx, s.b, decl, "general", 1)
	refused(t, "another provider asks for the declaration", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	full, err := s.c.As(s.patient).Declaration(s.ctx, decl) // even with the declaration in hand
	s.must(err)
	if _, err := emergency.Reconstruct(s.b, full.Declaration, full.Escrows[0]); !errors.Is(err, emergency.ErrReconstruct) {
		t.Fatalf("another provider rebuilt the key: %v", err)
	}
	if _, err := s.emergencyRead(s.b, s.recs["general"]); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("another provider's break-glass read: %v", err)
	}
	t.Log("The opted-out category is never released.")
	if _, err := s.emergencyRead(s.er, s.recs["hiv"]); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("read of an opted-out category: %v", err)
	}
	_, err = s.c.Send(s.ctx, s.custodians[2], &emergency.ReleaseBody{Declaration: decl, Category: "hiv", Version: 1, Sealed: make([]byte, emergency.SealedShareSize)})
	refused(t, "release of an uncovered category", err, http.StatusBadRequest, emergency.Space, emergency.CodeInvalid)

	t.Log("Urgent write under the declaration; without one it is refused.")
	m, err := s.c.UrgentWrite(s.ctx, s.er, client.NewRecord{Patient: s.patient.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation","status":"final"}`)})
	s.must(err)
	_, err = s.c.UrgentWrite(s.ctx, s.b, client.NewRecord{Patient: s.patient.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(`{}`)})
	refused(t, "urgent write without a declaration", err, http.StatusForbidden, emergency.Space, emergency.CodeWindow)
	if s.countEvents(func(e *audit.Event) bool {
		return e.Action == audit.RecordWrite && e.Record == m.RecordID && e.Emergency == decl
	}) != 1 {
		t.Fatal("the urgent write's event does not name the declaration")
	}

	t.Log("A key rotation: the old escrow opens only old records until the patient re-escrows.")
	g, err := s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment},
		Scope: consent.Scope{Categories: []string{"general"}}})
	s.must(err)
	s.must(s.c.Revoke(s.ctx, s.patient, g)) // general rotates to version 2
	newer := s.write(s.a, "general", "Observation", "after rotation")
	if _, err := s.emergencyRead(s.er, newer); !errors.Is(err, client.ErrNoEscrow) {
		t.Fatalf("read of a record under an unescrowed key version: %v", err)
	}
	again, err := s.c.ReEscrow(s.ctx, s.patient) // what `consent revoke` does next
	s.must(err)
	if !slices.Equal(again, []string{"general"}) {
		t.Fatalf("re-escrowed %v", again)
	}
	if again, err := s.c.ReEscrow(s.ctx, s.patient); err != nil || len(again) != 0 {
		t.Fatalf("a second re-escrow did %v (%v)", again, err)
	}
	s.release(s.custodians[2], 3) // general v1, v2 and mental-health
	s.release(s.custodians[0], 1) // general v2
	if pt, err := s.emergencyRead(s.er, newer); err != nil || pt != "after rotation" {
		t.Fatalf("read after re-escrow: %q %v", pt, err)
	}
	if pt, err := s.emergencyRead(s.er, s.recs["general"]); err != nil || pt != s.plain["general"] {
		t.Fatalf("old record after re-escrow: %v", err)
	}

	t.Log("The patient opts mental-health out in the middle of the emergency: denied from the next block.")
	s.must(s.c.OptOut(s.ctx, s.patient, []string{"mental-health"}, false))
	if _, err := s.emergencyRead(s.er, s.recs["mental-health"]); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("read after opt-out: %v", err)
	}
	_, err = s.c.Send(s.ctx, s.custodians[2], &emergency.ReleaseBody{Declaration: decl, Category: "mental-health", Version: 1, Sealed: make([]byte, emergency.SealedShareSize)})
	refused(t, "release after opt-out", err, http.StatusForbidden, emergency.Space, emergency.CodeOptedOut)

	t.Log("Justification by the physician, review by the auditor.")
	refused(t, "review before justification", s.c.Review(s.ctx, s.auditor, decl, emergency.Appropriate, ""), http.StatusConflict, emergency.Space, emergency.CodeNotJustified)
	refused(t, "justify someone else's declaration", s.c.Justify(s.ctx, s.b, decl, "not mine"), http.StatusForbidden, emergency.Space, emergency.CodeUnauthorized)
	s.must(s.c.Justify(s.ctx, s.er, decl, "GCS 6 on arrival; medication history needed before anaesthesia"))
	refused(t, "review by a provider", s.c.Review(s.ctx, s.a, decl, emergency.Appropriate, ""), http.StatusForbidden, emergency.Space, emergency.CodeUnauthorized)
	refused(t, "bad verdict", s.c.Review(s.ctx, s.auditor, decl, "fine", ""), http.StatusBadRequest, emergency.Space, emergency.CodeInvalid)
	s.must(s.c.Review(s.ctx, s.auditor, decl, emergency.Appropriate, "documented trauma call"))
	refused(t, "second review", s.c.Review(s.ctx, s.auditor, decl, emergency.Inappropriate, ""), http.StatusConflict, emergency.Space, emergency.CodeDuplicate)

	t.Log("The auditor's report lists the emergency access, its use and its review.")
	evs := s.ledgerEvents()
	acc, denied := auditreport.EmergencyAccesses(evs, nil)
	if len(acc) != 1 {
		t.Fatalf("%d emergency accesses, want 1", len(acc))
	}
	a := acc[0]
	if a.Declaration != decl || a.Provider != s.er.ID || a.Status != auditreport.Reviewed || !strings.HasPrefix(a.Verdict, emergency.Appropriate) ||
		a.Writes != 1 || a.Reads < 4 || a.Releases != 8 || len(a.Custodians) != 3 || a.Justification == "" {
		t.Fatalf("emergency access %+v", a)
	}
	if !slices.ContainsFunc(denied, deniedBG) {
		t.Fatal("the denied break-glass attempt is not in the report")
	}
	c := auditreport.ComplianceReport(evs, time.Time{}, time.Time{}, auditreport.DefaultRules())
	if len(c.Emergencies) != 1 || len(c.BreakGlassDenied) == 0 {
		t.Fatalf("compliance report: %d emergencies, %d denied break-glass", len(c.Emergencies), len(c.BreakGlassDenied))
	}
	ae := auditreport.FHIRAuditEvent(evs[a.Event], nil)
	if !slices.ContainsFunc(ae.Subtype, func(c auditreport.Coding) bool {
		return c.Code == "110127" && c.Display == "Emergency Override Started"
	}) ||
		len(ae.PurposeOfEvent) != 1 || ae.PurposeOfEvent[0].Coding[0].Code != "ETREAT" {
		t.Fatalf("declaration as FHIR: subtype %+v purpose %+v", ae.Subtype, ae.PurposeOfEvent)
	}
}

func identityOf(t *testing.T, s *emergencyStory, id string) *identity.Identity {
	t.Helper()
	r, err := s.c.Identity(s.ctx, id, false)
	s.must(err)
	return r.Identity
}

// TestEmergencyWindowExpires: once the window is over (by block time) reads are denied
// again and custodians can no longer release.
func TestEmergencyWindowExpires(t *testing.T) {
	s := newEmergencyStory(t)
	s.must(s.c.Escrow(s.ctx, s.patient, []string{"general"}, 2, nil))
	decl, err := s.c.Declare(s.ctx, s.er, emergency.DeclareBody{Patient: s.patient.ID, Reason: "cardiac arrest", Window: 8})
	s.must(err)
	s.release(s.custodians[0], 1)
	s.release(s.custodians[1], 1)
	if pt, err := s.emergencyRead(s.er, s.recs["general"]); err != nil || pt != s.plain["general"] {
		t.Fatalf("read inside the window: %v", err)
	}
	r, err := s.c.As(s.er).Declaration(s.ctx, decl)
	s.must(err)
	for {
		st, err := s.c.Status(s.ctx)
		s.must(err)
		if st.BlockTime.After(r.Declaration.Expiry) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, err = s.emergencyRead(s.er, s.recs["general"])
	if !errors.Is(err, client.ErrDenied) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("read after the window: %v", err)
	}
	rel, err := emergency.Reseal(s.custodians[2], r.Escrows[0], r.Declaration, identityOf(t, s, s.er.ID))
	s.must(err)
	_, err = s.c.Send(s.ctx, s.custodians[2], rel)
	refused(t, "release after the window", err, http.StatusForbidden, emergency.Space, emergency.CodeWindow)
	if n, err := s.c.ReleaseShares(s.ctx, s.custodians[2]); n != 0 || err != nil {
		t.Fatalf("custodian node released %d after the window (%v)", n, err)
	}
}
