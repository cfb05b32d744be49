package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// raw sends a request with the given headers and returns status, headers and body.
func (f *fixture) raw(tok, method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", FHIRJSON)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// testConditional: If-Match, If-None-Exist, If-None-Match, Prefer, Location, formats,
// _count=0 and the token lifetime, each against a request that would get past it.
func (f *fixture) testConditional(t *testing.T) {
	f = f.sub(t)
	tok := f.token(f.cast.Provider)
	s := f.source(f.files[1])
	obs := Object{"resourceType": "Observation", "status": "final", "subject": patientRef(s),
		"identifier": []any{Object{"system": "urn:test:lab", "value": "cond-1"}},
		"code":       Object{"text": "conditional"}, "valueString": "one"}
	body := mustMarshal(t, obs)

	// Location is absolute with the version; ETag and Last-Modified are set.
	code, h, b := f.raw(tok, "POST", "/Observation", body, map[string]string{"If-None-Exist": "identifier=urn:test:lab|cond-1"})
	if code != http.StatusCreated || !strings.HasPrefix(h.Get("Location"), f.base+"/Observation/") || !strings.HasSuffix(h.Get("Location"), "/_history/1") ||
		h.Get("ETag") != `W/"1"` || h.Get("Last-Modified") == "" {
		t.Fatalf("create: %d %v %s", code, h, b)
	}
	created, _ := Parse(b)
	id := created["id"].(string)
	// If-None-Exist with one match returns it and writes nothing.
	code, _, b = f.raw(tok, "POST", "/Observation", body, map[string]string{"If-None-Exist": "Observation?identifier=urn:test:lab|cond-1"})
	if got, _ := Parse(b); code != http.StatusOK || got["id"] != id {
		t.Fatalf("conditional create with a match: %d %s", code, b)
	}
	_, one := f.do(tok, "GET", "/Observation?patient="+s.patient+"&identifier=urn:test:lab|cond-1", nil)
	if total(one) != 1 {
		t.Fatalf("the conditional create wrote a duplicate: %v", one)
	}
	// Two matches: 412, nothing written. The second one is written without the condition.
	if code, _, b := f.raw(tok, "POST", "/Observation", body, nil); code != http.StatusCreated {
		t.Fatalf("second create: %d %s", code, b)
	}
	if code, _, b := f.raw(tok, "POST", "/Observation", body, map[string]string{"If-None-Exist": "identifier=urn:test:lab|cond-1"}); code != http.StatusPreconditionFailed {
		t.Fatalf("If-None-Exist with two matches: %d %s", code, b)
	}
	if _, two := f.do(tok, "GET", "/Observation?patient="+s.patient+"&identifier=urn:test:lab|cond-1", nil); total(two) != 2 {
		t.Fatalf("after the refused create: %d matches", total(two))
	}
	// In a transaction entry two matches fail the transaction: 412, nothing is written.
	txb := mustMarshal(t, Object{"resourceType": "Bundle", "type": "transaction", "entry": []any{Object{
		"fullUrl": "urn:uuid:7f1c2b2e-0000-4000-8000-000000000001", "resource": obs,
		"request": Object{"method": "POST", "url": "Observation", "ifNoneExist": "identifier=urn:test:lab|cond-1"}}}})
	if code, _, b := f.raw(tok, "POST", "", txb, nil); code != http.StatusPreconditionFailed || !strings.Contains(string(b), "ifNoneExist") {
		t.Fatalf("transaction entry with ifNoneExist: %d %s", code, b)
	}
	if _, two := f.do(tok, "GET", "/Observation?patient="+s.patient+"&identifier=urn:test:lab|cond-1", nil); total(two) != 2 {
		t.Fatalf("after the refused transaction: %d matches", total(two))
	}

	// If-Match: the current version updates, a stale one gets 412 and writes nothing.
	obs["id"] = id
	obs["valueString"] = "two"
	if code, h, b := f.raw(tok, "PUT", "/Observation/"+id, mustMarshal(t, obs), map[string]string{"If-Match": `W/"1"`}); code != 200 || h.Get("ETag") != `W/"2"` {
		t.Fatalf("If-Match current: %d %s", code, b)
	}
	obs["valueString"] = "lost"
	if code, _, b := f.raw(tok, "PUT", "/Observation/"+id, mustMarshal(t, obs), map[string]string{"If-Match": `W/"1"`}); code != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", code, b)
	}
	if _, got := f.do(tok, "GET", "/Observation/"+id, nil); got["valueString"] != "two" || got["meta"].(Object)["versionId"] != "2" {
		t.Fatalf("stale If-Match wrote: %v", got)
	}
	// If-None-Match with the current version: 304, no body.
	if code, _, b := f.raw(tok, "GET", "/Observation/"+id, nil, map[string]string{"If-None-Match": `W/"2"`}); code != http.StatusNotModified || len(b) != 0 {
		t.Fatalf("If-None-Match current: %d %s", code, b)
	}
	if code, _, _ := f.raw(tok, "GET", "/Observation/"+id, nil, map[string]string{"If-None-Match": `W/"1"`}); code != 200 {
		t.Fatalf("If-None-Match stale: %d", code)
	}
	// Prefer.
	obs["valueString"] = "three"
	if code, _, b := f.raw(tok, "PUT", "/Observation/"+id, mustMarshal(t, obs), map[string]string{"Prefer": "return=minimal"}); code != 200 || len(b) != 0 {
		t.Fatalf("return=minimal: %d %s", code, b)
	}
	obs["valueString"] = "four"
	code, _, b = f.raw(tok, "PUT", "/Observation/"+id, mustMarshal(t, obs), map[string]string{"Prefer": "return=OperationOutcome"})
	if oo, _ := Parse(b); code != 200 || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("return=OperationOutcome: %d %s", code, b)
	}

	// Formats: XML asked for is 406, a body that is not declared JSON is 415.
	for _, c := range []struct {
		path string
		hdr  map[string]string
	}{{"/Observation/" + id + "?_format=xml", nil}, {"/Observation/" + id, map[string]string{"Accept": "application/fhir+xml"}}} {
		code, _, b := f.raw(tok, "GET", c.path, nil, c.hdr)
		if oo, _ := Parse(b); code != http.StatusNotAcceptable || oo["resourceType"] != "OperationOutcome" {
			t.Fatalf("%s %v: %d %s", c.path, c.hdr, code, b)
		}
	}
	if code, _, b := f.raw(tok, "POST", "/Observation", body, map[string]string{"Content-Type": "text/plain"}); code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain body: %d %s", code, b)
	}

	// _count=0: the total only, no next link to follow.
	_, zero := f.do(tok, "GET", "/Observation?patient="+s.patient+"&_count=0", nil)
	if total(zero) == 0 || nextLink(zero) != "" || zero["entry"] != nil {
		t.Fatalf("_count=0: %v", zero)
	}

	// A token lasts 5 minutes, whatever the assertion's exp.
	_, tb := f.tokenRequest(SignAssertion(f.cast.Provider, f.base+"/auth/token", f.gw.Now(), 2*60e9))
	var tr tokenResponse
	json.Unmarshal(tb, &tr)
	if tr.ExpiresIn < 299 {
		t.Fatalf("token expires_in %d, want 300", tr.ExpiresIn)
	}

	// The CapabilityStatement does not claim Patient create.
	_, cs := f.do("", "GET", "/metadata", nil)
	for _, res := range cs["rest"].([]any)[0].(Object)["resource"].([]any) {
		if res.(Object)["type"] == "Patient" && strings.Contains(string(mustMarshal(t, res)), `"create"`) {
			t.Fatalf("Patient claims create: %s", mustMarshal(t, res))
		}
	}
	// SMART discovery is public, with or without a token, and names the token endpoint the
	// CapabilityStatement's oauth-uris extension names.
	for _, who := range []string{"", tok} {
		code, h, b := f.raw(who, "GET", "/.well-known/smart-configuration", nil, nil)
		var sc map[string]any
		if err := json.Unmarshal(b, &sc); err != nil || h.Get("Content-Type") != "application/json" {
			t.Fatalf("smart-configuration: %d %q %s", code, h.Get("Content-Type"), b)
		}
		if code != http.StatusOK || sc["token_endpoint"] != f.base+"/auth/token" || sc["authorization_endpoint"] != f.base+"/auth/authorize" {
			t.Fatalf("smart-configuration (token %v): %d %v", who != "", code, sc)
		}
	}
	sec := mustMarshal(t, cs["rest"].([]any)[0].(Object)["security"])
	if !strings.Contains(string(sec), `oauth-uris`) || !strings.Contains(string(sec), `"valueUri":"`+f.base+`/auth/token"`) {
		t.Fatalf("CapabilityStatement security without the token endpoint: %s", sec)
	}
	if err := ValidateObject(cs); err != nil {
		t.Fatalf("CapabilityStatement with oauth-uris does not validate: %v", err)
	}
}
