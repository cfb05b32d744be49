package fhir

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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
	t.Run("conditional", f.testConditional)
	t.Run("compartment", f.testCompartment)
	t.Run("include", f.testInclude)
	t.Run("batch", f.testBatch)
	t.Run("capability-includes", f.testCapabilityIncludes)
	t.Run("npm-client", f.testNPMClient)
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
	ptok := f.login(PatientKeystoreName(sourceOf(s).SourceID), f.im.Passphrase)
	cons := Object{"resourceType": "Consent", "status": "active",
		"scope":      Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":   []any{Object{"coding": []any{Object{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":    Object{"reference": "Patient/" + s.patient},
		"policyRule": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}},
		"provision": Object{"type": "permit",
			"period":    Object{"start": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			"actor":     []any{Object{"role": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}}, "reference": Object{"reference": "Practitioner/" + other.ID}}},
			"action":    []any{Object{"coding": []any{Object{"system": systemConsentAct, "code": "access"}}}},
			"purpose":   []any{Object{"system": systemActReason, "code": "TREAT"}},
			"class":     []any{Object{"system": systemResourceType, "code": "Observation"}},
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
	grants, _ := f.r.Client.As(other).Grants(ctx, s.patient) // the grantee sees the grants to it
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
	ptok2 := f.login(PatientKeystoreName(sourceOf(s).SourceID), f.im.Passphrase)
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

// testAuth tries to get past the token endpoint and the bearer check.
func (f *fixture) testAuth(t *testing.T) {
	f = f.sub(t)
	if code, cs := f.do("", "GET", "/metadata", nil); code != 200 || cs["resourceType"] != "CapabilityStatement" || ValidateObject(cs) != nil {
		t.Fatalf("metadata: %d %v", code, ValidateObject(cs))
	}
	if code, _ := f.do("", "GET", "/Patient/"+f.source(f.files[0]).patient, nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := f.do("not-a-token", "GET", "/Observation?patient=x", nil); code != http.StatusUnauthorized {
		t.Fatalf("made-up token: %d", code)
	}
	aud := f.base + "/auth/token"
	now := time.Now()
	good := SignAssertion(f.cast.Provider, aud, now, time.Minute)
	if code, _ := f.tokenRequest(good); code != 200 {
		t.Fatalf("good assertion: %d", code)
	}
	if code, body := f.tokenRequest(good); code != http.StatusUnauthorized || !strings.Contains(string(body), "already used") {
		t.Fatalf("replayed jti: %d %s", code, body)
	}
	intruder, _ := keys.NewKeystore("intruder")
	forged := SignAssertion(&keys.Keystore{ID: f.cast.Provider.ID, Keys: intruder.Keys}, aud, now, time.Minute)
	parts := strings.Split(SignAssertion(f.cast.Provider, aud, now, time.Minute), ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	longer := strings.Replace(string(claims), `"exp":`, `"exp":1`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(longer)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	notUnlocked := f.otherProvider(t)
	f.gw.Unlock(f.reg) // even unlocked, the registrar gets no gateway token
	for name, c := range map[string]struct{ jwt, want string }{
		"forged signature": {forged, "does not verify"},
		"tampered claims":  {tampered, ""},
		"alg none":         {none, "EdDSA"},
		"expired":          {SignAssertion(f.cast.Provider, aud, now.Add(-10*time.Minute), time.Minute), "expired"},
		"too long":         {SignAssertion(f.cast.Provider, aud, now, time.Hour), "5 minutes"},
		"wrong audience":   {SignAssertion(f.cast.Provider, "https://elsewhere/token", now, time.Minute), "aud"},
		"unregistered":     {SignAssertion(intruder, aud, now, time.Minute), "not registered"},
		"keys not on node": {SignAssertion(notUnlocked, aud, now, time.Minute), "unlocked"},
		"registrar":        {SignAssertion(f.reg, aud, now, time.Minute), "registrar never gets a gateway token"},
		"garbage":          {"a.b.c", "malformed"},
	} {
		code, body := f.tokenRequest(c.jwt)
		if code != http.StatusUnauthorized || !strings.Contains(string(body), c.want) || !strings.Contains(string(body), "OperationOutcome") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	// Login with a wrong passphrase or an unknown keystore.
	for _, req := range []loginRequest{{Keystore: PatientKeystoreName(sourceOf(f.source(f.files[0])).SourceID), Passphrase: "wrong"}, {Keystore: "nobody", Passphrase: "x"}} {
		b, _ := json.Marshal(req)
		resp, err := http.Post(f.base+"/auth/login", "application/json", bytes.NewReader(b))
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %s: %v %v", req.Keystore, resp.StatusCode, err)
		}
	}
}

func patientRef(s *source) Object { return Object{"reference": "Patient/" + s.patient} }

// testCRUD: create, read, update (a new version, the old one kept), vread, history,
// transaction with urn:uuid references, DocumentReference with small and large
// attachments.
func (f *fixture) testCRUD(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	obs := Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s),
		"code":              Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}}},
		"effectiveDateTime": "2026-01-02T03:04:05Z",
		"valueQuantity":     Object{"value": json.Number("72"), "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
	code, created := f.do(tok, "POST", "/Observation", obs)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	if m := created["meta"].(Object); m["versionId"] != "1" {
		t.Fatalf("meta %v", m)
	}
	code, got := f.do(tok, "GET", "/Observation/"+id, nil)
	if code != 200 || got["valueQuantity"].(Object)["value"] != json.Number("72") {
		t.Fatalf("read: %d %v", code, got)
	}
	obs["id"] = id
	obs["valueQuantity"].(Object)["value"] = json.Number("75.50")
	if code, upd := f.do(tok, "PUT", "/Observation/"+id, obs); code != 200 || upd["meta"].(Object)["versionId"] != "2" {
		t.Fatalf("update: %d %v", code, upd)
	}
	for v, want := range map[string]string{"1": "72", "2": "75.50"} {
		code, r := f.do(tok, "GET", "/Observation/"+id+"/_history/"+v, nil)
		if code != 200 || r["valueQuantity"].(Object)["value"] != json.Number(want) || r["meta"].(Object)["versionId"] != v {
			t.Fatalf("vread %s: %d %v", v, code, r)
		}
	}
	if code, _ := f.do(tok, "GET", "/Observation/"+id+"/_history/3", nil); code != http.StatusNotFound {
		t.Fatalf("vread of a version that does not exist: %d", code)
	}
	code, h := f.do(tok, "GET", "/Observation/"+id+"/_history", nil)
	if code != 200 || total(h) != 2 || h["type"] != "history" {
		t.Fatalf("history: %d %v", code, h)
	}
	if v := h["entry"].([]any)[0].(Object)["resource"].(Object)["meta"].(Object)["versionId"]; v != "2" {
		t.Fatalf("history is not newest first: %v", v)
	}
	// A provider's write is checked by the ledger: one with no care relationship and no
	// write grant is refused with the ledger's code.
	other := f.otherProvider(t)
	f.gw.Unlock(other)
	delete(obs, "id")
	if code, oo := f.do(f.token(other), "POST", "/Observation", obs); code != http.StatusForbidden || !strings.Contains(string(mustMarshal(t, oo)), "records/1") {
		t.Fatalf("write without a relationship: %d %v", code, oo)
	}

	// A transaction: an Encounter and an Observation pointing at it by urn:uuid.
	enc := "urn:uuid:8b5c4f0e-2f5e-4a8e-9d11-5d2a3a4b6c7d"
	bundle := Object{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		Object{"fullUrl": enc, "resource": Object{"resourceType": "Encounter", "status": "finished", "subject": patientRef(s),
			"class": Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}}, "request": Object{"method": "POST", "url": "Encounter"}},
		Object{"fullUrl": "urn:uuid:0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "resource": Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s),
			"encounter": Object{"reference": enc}, "code": Object{"text": "note"}, "valueString": "ok"}, "request": Object{"method": "POST", "url": "Observation"}}}}
	code, tr := f.do(tok, "POST", "", bundle)
	if code != 200 || tr["type"] != "transaction-response" || len(tr["entry"].([]any)) != 2 {
		t.Fatalf("transaction: %d %v", code, tr)
	}
	loc := func(i int) string {
		// The location is the Location header the entry alone would get: [base]/Type/id/_history/n.
		return strings.TrimPrefix(tr["entry"].([]any)[i].(Object)["response"].(Object)["location"].(string), f.base+"/")
	}
	encID := strings.Split(loc(0), "/")[1]
	code, o2 := f.do(tok, "GET", "/"+strings.Join(strings.Split(loc(1), "/")[:2], "/"), nil)
	if code != 200 || o2["encounter"].(Object)["reference"] != "Encounter/"+encID {
		t.Fatalf("reference not resolved: %d %v", code, o2)
	}

	// DocumentReference with attachments: a small one inline, a large one through the blob
	// store; both come back byte for byte.
	big := make([]byte, 150<<10)
	rand.Read(big)
	for _, data := range [][]byte{[]byte("discharge letter"), big} {
		sum := sha1.Sum(data)
		doc := Object{"resourceType": "DocumentReference", "status": "current", "subject": patientRef(s),
			"content": []any{Object{"attachment": Object{"contentType": "application/pdf", "data": base64.StdEncoding.EncodeToString(data),
				"size": json.Number(strconv.Itoa(len(data))), "hash": base64.StdEncoding.EncodeToString(sum[:])}}}}
		code, d := f.do(tok, "POST", "/DocumentReference", doc)
		if code != http.StatusCreated {
			t.Fatalf("document: %d %v", code, d)
		}
		code, back := f.do(tok, "GET", "/DocumentReference/"+d["id"].(string), nil)
		att := back["content"].([]any)[0].(Object)["attachment"].(Object)
		raw, _ := base64.StdEncoding.DecodeString(att["data"].(string))
		if code != 200 || !bytes.Equal(raw, data) {
			t.Fatalf("attachment of %d bytes did not come back (%d)", len(data), code)
		}
	}
	// A wrong stated size is refused before anything is written.
	doc := Object{"resourceType": "DocumentReference", "status": "current", "subject": patientRef(s),
		"content": []any{Object{"attachment": Object{"contentType": "text/plain", "data": "aGVsbG8=", "size": json.Number("6")}}}}
	if code, oo := f.do(tok, "POST", "/DocumentReference", doc); code != http.StatusBadRequest || !strings.Contains(string(mustMarshal(t, oo)), "size") {
		t.Fatalf("wrong size: %d %v", code, oo)
	}
}

// testExamples: every official example of a type the gateway stores is accepted and
// reads back the same; every invalid file is refused with an OperationOutcome.
func (f *fixture) testExamples(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	files, _ := filepath.Glob(filepath.Join(dataDir(t, "fhir-r4-examples"), "*.json"))
	n := 0
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		o, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		rt := o["resourceType"].(string)
		if !IsSupported(rt) {
			continue
		}
		n++
		var code int
		var got Object
		if rt == "Patient" {
			o["id"] = s.patient
			code, got = f.do(tok, "PUT", "/Patient/"+s.patient, o)
		} else {
			code, got = f.do(tok, "POST", "/"+rt+"?patient="+s.patient, o)
		}
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("%s: %d %s", filepath.Base(file), code, mustMarshal(t, got))
		}
		code, back := f.do(tok, "GET", "/"+rt+"/"+got["id"].(string), nil)
		want, _ := Parse(raw)
		for _, x := range []Object{want, back} {
			delete(x, "id")
			if m, ok := x["meta"].(Object); ok {
				delete(m, "versionId")
				delete(m, "lastUpdated")
				if len(m) == 0 {
					delete(x, "meta")
				}
			}
		}
		if code != 200 || !reflect.DeepEqual(want, back) {
			t.Fatalf("%s did not read back the same: %d\n%s\n%s", filepath.Base(file), code, mustMarshal(t, want), mustMarshal(t, back))
		}
	}
	if n != 12 {
		t.Fatalf("%d supported examples, want 12", n)
	}
	invalid, _ := filepath.Glob(filepath.Join(dataDir(t, "fhir-r4-invalid"), "*.json"))
	for _, file := range invalid {
		raw, _ := os.ReadFile(file)
		rt := "Patient"
		if o, err := Parse(raw); err == nil {
			rt = o["resourceType"].(string)
		}
		path := "/" + rt
		if rt == "Bundle" {
			path = ""
		}
		code, oo := f.do(tok, "POST", path+"?patient="+s.patient, raw)
		if code != http.StatusBadRequest || oo["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: %d %s", filepath.Base(file), code, mustMarshal(t, oo))
		}
		issues := oo["issue"].([]any)
		if len(issues) == 0 || issues[0].(Object)["diagnostics"] == "" {
			t.Errorf("%s: outcome without a reason", filepath.Base(file))
		}
	}
}

// testErrors: every refusal is an OperationOutcome with the right status.
func (f *fixture) testErrors(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/Observation/nope", nil, 404},
		{"GET", "/Observation/" + s.patient, nil, 404}, // the id of a Patient, asked as an Observation
		{"GET", "/Location/1", nil, 404},
		{"GET", "/Hospital/1", nil, 404},
		{"GET", "/Observation/bad_id!", nil, 400},
		{"GET", "/Observation/x/_history/zero", nil, 400},
		{"POST", "/Observation", []byte("{"), 400},
		{"POST", "/Observation", Object{"resourceType": "Condition", "subject": patientRef(s)}, 400},
		{"POST", "/Observation", Object{"resourceType": "Observation", "status": "final", "code": Object{"text": "x"}}, 422},
		{"POST", "/Observation", Object{"resourceType": "Observation", "status": "final", "code": Object{"text": "x"}, "subject": Object{"reference": "Patient/unknown"}}, 422},
		{"PUT", "/Observation/abc", Object{"resourceType": "Observation", "id": "xyz", "status": "final", "code": Object{"text": "x"}, "subject": patientRef(s)}, 400},
		{"DELETE", "/Observation/abc", nil, 405},
		{"POST", "/AuditEvent", Object{"resourceType": "AuditEvent"}, 400},
		{"POST", "", Object{"resourceType": "Bundle", "type": "searchset"}, 400},
		{"PATCH", "/Observation/abc", nil, 404},
		{"GET", "/Observation/abc/_history/1/extra", nil, 404},
	} {
		if code, _ := f.do(tok, c.method, c.path, c.body); code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, code, c.want)
		}
	}
}

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
