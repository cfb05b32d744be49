package fhir

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// TestGateway runs the gateway stories on one node holding two imported patients.
func TestGateway(t *testing.T) {
	f := newFixture(t, syntheaFiles(t)[:2])
	t.Run("search", f.testSearch)
	t.Run("denied-consent-audit", f.testDeniedConsentAudit)
	t.Run("auth", f.testAuth)
	t.Run("crud", f.testCRUD)
	t.Run("examples", f.testExamples)
	t.Run("errors", f.testErrors)
}

func ids(t *testing.T, b Object) []string {
	t.Helper()
	var out []string
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		out = append(out, e.(Object)["resource"].(Object)["id"].(string))
	}
	return out
}

func total(b Object) int {
	n, _ := b["total"].(json.Number).Int64()
	return int(n)
}

func (f *fixture) sub(t *testing.T) *fixture { c := *f; c.t = t; return &c }

// testSearch checks searches against what was counted by hand in the source bundle of
// Abdul Koepp (the first file).
func (f *fixture) testSearch(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[0])
	src := func(rt, sourceID string) string { return ImportID(s.patient, rt, sourceID) }
	p := "patient=" + s.patient
	// Body height, LOINC 8302-2: ten yearly measurements, 2011-10-14 to 2020-12-04.
	heights := []string{"af5597a6-304d-4c8f-b596-60d17d445714", "83fa6f09-468f-45cb-bddf-e1bb2117240c",
		"59b4a14f-baa9-4ecb-aeed-e434e27c52d7", "e292d008-808a-422c-bda3-ef632d219a48", "fda57f12-2e00-45f4-bb33-51ea93a760b4",
		"9404e8b3-11ac-4910-97d5-f5c894411281", "2a17fd2d-12ef-40cc-a70d-812e7422e213", "be1b89b3-49d4-48d7-9642-7974ce9c19bb",
		"bf1bcbcb-25de-495a-9a12-28447b6aa72c", "256547fe-cdc4-47ca-a33a-552dfcbf7a92"}
	var want []string
	for _, h := range heights {
		want = append(want, src("Observation", h))
	}
	code, b := f.do(tok, "GET", "/Observation?"+p+"&code=http://loinc.org|8302-2&_sort=date", nil)
	if code != 200 || !slices.Equal(ids(t, b), want) || total(b) != 10 {
		t.Fatalf("heights by date: %d %v", code, ids(t, b))
	}
	_, b = f.do(tok, "GET", "/Observation?"+p+"&code=8302-2&_sort=-date", nil)
	rev := slices.Clone(want)
	slices.Reverse(rev)
	if !slices.Equal(ids(t, b), rev) {
		t.Fatalf("heights by -date: %v", ids(t, b))
	}
	// A system that does not match finds nothing.
	if _, b = f.do(tok, "GET", "/Observation?"+p+"&code=http://snomed.info/sct|8302-2", nil); total(b) != 0 {
		t.Fatalf("wrong system matched: %d", total(b))
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"date=ge2018-01-01", want[7:]},
		{"date=2015,2016", want[4:6]},
		{"date=lt2012-10-19", want[:1]},
		{"date=le2012-10-19", want[:2]},
		{"date=gt2020-12-04T00:00:00Z&date=lt2021", want[9:]},
		{"date=sa2019-11-29", want[9:]},
		{"date=eb2011-10-15", want[:1]},
		{"_id=" + want[3] + "," + want[5], []string{want[3], want[5]}},
	} {
		_, b := f.do(tok, "GET", "/Observation?"+p+"&code=8302-2&_sort=date&"+c.q, nil)
		if !slices.Equal(ids(t, b), c.want) {
			t.Errorf("%s: got %v want %v", c.q, ids(t, b), c.want)
		}
	}
	for cat, n := range map[string]int{"vital-signs": 50, "laboratory": 34, "survey": 10,
		"http://terminology.hl7.org/CodeSystem/observation-category|vital-signs": 50, "exam": 0} {
		if _, b := f.do(tok, "GET", "/Observation?"+p+"&category="+cat+"&_count=0", nil); total(b) != n {
			t.Errorf("category %s: %d, want %d", cat, total(b), n)
		}
	}
	// One encounter started and ended in 2019; ten of eleven immunizations are vaccine 140.
	if _, b := f.do(tok, "GET", "/Encounter?"+p+"&date=2019", nil); total(b) != 1 {
		t.Errorf("encounters in 2019: %d", total(b))
	}
	if _, b := f.do(tok, "GET", "/Immunization?"+p+"&vaccine-code=140", nil); total(b) != 10 {
		t.Errorf("vaccine 140: %d", total(b))
	}
	if _, b := f.do(tok, "GET", "/Condition?"+p+"&code=http://snomed.info/sct|444470001", nil); total(b) != 1 || ids(t, b)[0] == "" {
		t.Errorf("ACL injury: %d", total(b))
	}
	// _lastUpdated: everything was written after the test started, nothing before 2000.
	if _, b := f.do(tok, "GET", "/Condition?"+p+"&_lastUpdated=lt2000", nil); total(b) != 0 {
		t.Errorf("_lastUpdated lt2000: %d", total(b))
	}
	if _, b := f.do(tok, "GET", "/Condition?"+p+"&_lastUpdated=ge2020", nil); total(b) != 3 {
		t.Errorf("_lastUpdated ge2020: %d", total(b))
	}
	// Paging: 4 per page, following next links.
	var paged []string
	next := "/Observation?" + p + "&code=8302-2&_sort=date&_count=4"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		_, b := f.do(tok, "GET", next, nil)
		paged = append(paged, ids(t, b)...)
		next = nextLink(b)
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged: %v", paged)
	}
	// The other patient's records are not in this patient's search.
	other := f.source(f.files[1])
	if _, b := f.do(tok, "GET", "/Observation?patient="+other.patient+"&code=8302-2", nil); slices.ContainsFunc(ids(t, b), func(id string) bool { return slices.Contains(want, id) }) {
		t.Fatal("another patient's search returned this patient's records")
	}
	for _, q := range []string{"code=", "date=xx2020", "date=2020-13", "foo=bar", "_count=-1", "_sort=code"} {
		if code, _ := f.do(tok, "GET", "/Observation?"+p+"&"+q, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	if code, _ := f.do(tok, "GET", "/Observation?code=8302-2", nil); code != http.StatusBadRequest {
		t.Errorf("search without a patient: %d", code)
	}
}

// testDeniedConsentAudit: a provider without a grant is refused with 403 and the refusal
// is on the ledger; the patient's Consent becomes a grant that lets it read; the grant
// reads back as a Consent; the audit trail reads back as AuditEvents; revoking the
// Consent refuses again.
func (f *fixture) testDeniedConsentAudit(t *testing.T) {
	f = f.sub(t)
	s := f.source(f.files[0])
	other := f.otherProvider(t)
	f.gw.Unlock(other)
	tok := f.token(other)
	obs := ""
	for _, e := range s.entries {
		if e.Type == "Observation" {
			obs = e.ID
			break
		}
	}
	code, oo := f.do(tok, "GET", "/Observation/"+obs, nil)
	if code != http.StatusForbidden || !strings.Contains(string(mustMarshal(t, oo)), "recorded as event") {
		t.Fatalf("no grant: %d %v", code, oo)
	}
	if code, _ := f.do(tok, "GET", "/Observation?patient="+s.patient, nil); code != http.StatusForbidden {
		t.Fatalf("search without a grant: %d", code)
	}
	// The denial is on the ledger, for this provider and record.
	ctx := context.Background()
	aud, err := f.r.Client.AuditQuery(ctx, f.cast.Auditor, audit.Filter{Actor: other.ID, Action: "record.read", Outcome: "denied"})
	if err != nil {
		t.Fatal(err)
	}
	if len(aud.Events) != 1 || aud.Events[0].Record != obs || aud.Events[0].Patient != s.patient {
		t.Fatalf("denial not audited as expected: %+v", aud.Events)
	}

	// The patient logs in with the keystore the import created and grants a Consent.
	ptok := f.login(patientKeystoreName(sourceOf(s).SourceID), f.im.Passphrase)
	cons := Object{"resourceType": "Consent", "status": "active",
		"scope":    Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category": []any{Object{"coding": []any{Object{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":  Object{"reference": "Patient/" + s.patient},
		"policyRule": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}},
		"provision": Object{"type": "permit",
			"period":  Object{"start": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			"actor":   []any{Object{"role": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}}, "reference": Object{"reference": "Practitioner/" + other.ID}}},
			"action":  []any{Object{"coding": []any{Object{"system": systemConsentAct, "code": "access"}}}},
			"purpose": []any{Object{"system": systemActReason, "code": "TREAT"}},
			"class":   []any{Object{"system": systemResourceType, "code": "Observation"}},
			"provision": []any{Object{"type": "deny", "data": []any{Object{"meaning": "instance", "reference": Object{"reference": "Observation/" + obs}}}}}}}
	if code, _ := f.do(tok, "POST", "/Consent", cons); code != http.StatusForbidden {
		t.Fatalf("a provider granted consent for a patient: %d", code)
	}
	code, created := f.do(ptok, "POST", "/Consent", cons)
	if code != http.StatusCreated {
		t.Fatalf("consent: %d %v", code, created)
	}
	if err := ValidateObject(created); err != nil {
		t.Fatalf("Consent read back is not valid R4: %v", err)
	}
	gid := created["id"].(string)
	grants, _ := f.r.Client.Grants(ctx, s.patient)
	i := slices.IndexFunc(grants, func(g *consent.Grant) bool { return g.ID == gid })
	if i < 0 || grants[i].Grantee != other.ID || !slices.Equal(grants[i].Scope.ResourceTypes, []string{"Observation"}) ||
		len(grants[i].Deny) != 1 || !slices.Equal(grants[i].Deny[0].Scope.Records, []string{obs}) {
		t.Fatalf("grant on the ledger does not say what the Consent said: %+v", grants)
	}
	// Read back through GET and search, by patient and by grantee.
	if code, c := f.do(ptok, "GET", "/Consent/"+gid, nil); code != 200 || c["status"] != "active" {
		t.Fatalf("read consent: %d %v", code, c)
	}
	if _, b := f.do(tok, "GET", "/Consent?patient="+s.patient, nil); !slices.Contains(ids(t, b), gid) {
		t.Fatalf("grantee does not see its consent")
	}
	// The denied record stays denied; another Observation is now readable; a Condition not.
	if code, _ := f.do(tok, "GET", "/Observation/"+obs, nil); code != http.StatusForbidden {
		t.Fatalf("deny provision ignored: %d", code)
	}
	var obs2, cond string
	for _, e := range s.entries {
		if e.Type == "Observation" && e.ID != obs && obs2 == "" {
			obs2 = e.ID
		}
		if e.Type == "Condition" && cond == "" {
			cond = e.ID
		}
	}
	if code, r := f.do(tok, "GET", "/Observation/"+obs2, nil); code != 200 || r["id"] != obs2 {
		t.Fatalf("granted read: %d %v", code, r)
	}
	if code, _ := f.do(tok, "GET", "/Condition/"+cond, nil); code != http.StatusForbidden {
		t.Fatalf("outside the grant's class: %d", code)
	}
	if _, b := f.do(tok, "GET", "/Observation?patient="+s.patient+"&_count=0", nil); total(b) != 93 {
		t.Fatalf("search under the grant: %d observations, want 94 less the denied one", total(b))
	}
	// A purpose the grant does not cover.
	req, _ := http.NewRequest("GET", f.base+"/Observation/"+obs2, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Purpose-Of-Use", "research")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("research purpose: %v %v", resp.StatusCode, err)
	}

	// The patient reads the audit trail as AuditEvents, page by page: the denial is there.
	found, pages := false, 0
	for next := "/AuditEvent?patient=" + s.patient + "&_count=1000"; next != ""; pages++ {
		code, b := f.do(ptok, "GET", next, nil)
		if code != 200 || pages > 20 {
			t.Fatalf("audit: %d after %d pages", code, pages)
		}
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			ae := e.(Object)["resource"].(Object)
			if err := ValidateObject(ae); err != nil {
				t.Fatalf("AuditEvent is not valid R4: %v", err)
			}
			raw := string(mustMarshal(t, ae))
			if strings.Contains(raw, other.ID) && strings.Contains(raw, obs) && ae["outcome"] != "0" {
				found = true
			}
		}
		next = nextLink(b)
	}
	if !found {
		t.Fatal("the denied read is not among the patient's AuditEvents")
	}

	// Revoking the Consent: the provider is refused again.
	if code, _ := f.do(tok, "DELETE", "/Consent/"+gid, nil); code != http.StatusForbidden {
		t.Fatalf("a provider revoked a patient's consent: %d", code)
	}
	if code, oo := f.do(ptok, "DELETE", "/Consent/"+gid, nil); code != 200 {
		t.Fatalf("revoke: %d %v", code, oo)
	}
	if code, _ := f.do(tok, "GET", "/Observation/"+obs2, nil); code != http.StatusForbidden {
		t.Fatalf("read after revocation: %d", code)
	}
	if _, c := f.do(ptok, "GET", "/Consent/"+gid, nil); c["status"] != "inactive" {
		t.Fatalf("revoked consent reads back %v", c["status"])
	}
	// The rotated category key was saved: the patient still reads their own records.
	ptok2 := f.login(patientKeystoreName(sourceOf(s).SourceID), f.im.Passphrase)
	if code, _ := f.do(ptok2, "GET", "/Observation/"+obs2, nil); code != 200 {
		t.Fatalf("patient read after rotation: %d", code)
	}
}

func sourceOf(s *source) *Entry {
	p, _ := PatientEntry(s.entries)
	return p
}

// otherProvider registers a provider of another organization.
func (f *fixture) otherProvider(t *testing.T) *keys.Keystore {
	t.Helper()
	ks, err := keys.NewKeystore("dr-other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	chainID, _ := f.r.Client.ChainIDOf(ctx)
	if _, err := f.r.Client.Send(ctx, f.reg, client.RegistrationFor(chainID, ks, identity.Provider, "Dr Other", "City Clinic", "MD-9")); err != nil {
		t.Fatal(err)
	}
	return ks
}


func (f *fixture) testAuth(t *testing.T)     {}
func (f *fixture) testCRUD(t *testing.T)     {}
func (f *fixture) testExamples(t *testing.T) {}
func (f *fixture) testErrors(t *testing.T)   {}

// nextLink is the path of a Bundle's next page, or "".
func nextLink(b Object) string {
	links, _ := b["link"].([]any)
	for _, l := range links {
		if l.(Object)["relation"] == "next" {
			u := l.(Object)["url"].(string)
			return u[strings.Index(u, Prefix)+len(Prefix):]
		}
	}
	return ""
}
