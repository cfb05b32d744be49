package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/signin"
)

// fixture is a node with imported Synthea patients and the FHIR gateway mounted.
type fixture struct {
	t     testing.TB
	r     *nodetest.Running
	cast  nodetest.Cast
	reg   *keys.Keystore
	im    *Importer
	st    *ImportStats
	gw    *Gateway
	base  string
	files []string
}

func newFixture(t *testing.T, files []string) *fixture {
	r, cast, reg, im, st := importSetup(t, files)
	gw := Mount(r.Server, r.Node, im.Keys)
	gw.Unlock(cast.Provider)
	si, err := signin.Open(t.TempDir(), signin.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	gw.SignIn = si
	return &fixture{t: t, r: r, cast: cast, reg: reg, im: im, st: st, gw: gw, base: r.Client.Base + Prefix, files: files}
}

// token authenticates ks with a signed client assertion.
func (f *fixture) token(ks *keys.Keystore) string {
	f.t.Helper()
	code, body := f.tokenRequest(SignAssertion(ks, f.base+"/auth/token", time.Now(), 2*time.Minute))
	if code != http.StatusOK {
		f.t.Fatalf("token: %d %s", code, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		f.t.Fatalf("token answer %s", body)
	}
	return tr.AccessToken
}

func (f *fixture) tokenRequest(assertion string) (int, []byte) {
	f.t.Helper()
	return benchTokenRequest(f.base, assertion)
}

func benchTokenRequest(base, assertion string) (int, []byte) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {AssertionType}, "client_assertion": {assertion}}
	resp, err := http.PostForm(base+"/auth/token", form)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func tokenOf(body []byte) string {
	var tr tokenResponse
	json.Unmarshal(body, &tr)
	return tr.AccessToken
}

// login opens a session with a keystore on the node, its passphrase and a TOTP code. It
// enrols a fresh authenticator secret for the identity first (as the portal does), so
// every login has an unused code.
func (f *fixture) login(name string, pass []byte) string {
	f.t.Helper()
	data, err := f.im.Keys.Load(name)
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := keys.PublicInfo(data)
	if err != nil {
		f.t.Fatal(err)
	}
	k, err := signin.NewTOTPKey(name)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.gw.SignIn.Factors().Update(info.ID, func(fs *signin.Factors) error {
		fs.TOTPSecret, fs.TOTPLastStep = k.Secret(), 0
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	otp, err := totp.GenerateCode(k.Secret(), f.gw.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := json.Marshal(loginRequest{Keystore: name, Passphrase: string(pass), OTP: otp})
	resp, err := http.Post(f.base+"/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil {
		f.t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	return tr.AccessToken
}

// do sends a FHIR request and checks that every answer is FHIR JSON, with an
// OperationOutcome on every error.
func (f *fixture) do(tok, method, path string, body any) (int, Object) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, f.base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", FHIRJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, FHIRJSON) {
		f.t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	o, err := Parse(raw)
	if err != nil {
		f.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 400 {
		if o["resourceType"] != "OperationOutcome" {
			f.t.Fatalf("%s %s: %d without an OperationOutcome: %s", method, path, resp.StatusCode, raw)
		}
		if err := ValidateObject(o); err != nil {
			f.t.Fatalf("%s %s: invalid OperationOutcome: %v", method, path, err)
		}
	}
	return resp.StatusCode, o
}

// source is a bundle as read from disk, with the ids the importer gave its entries.
type source struct {
	patient string // identity id
	entries []*Entry
	refs    map[string]string
}

func (f *fixture) source(file string) *source {
	f.t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := Parse(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	es, err := BundleEntries(b)
	if err != nil {
		f.t.Fatal(err)
	}
	p, _ := PatientEntry(es)
	s := &source{patient: f.st.PatientIDs[p.SourceID], entries: es}
	if s.patient == "" {
		f.t.Fatalf("%s: patient not imported", file)
	}
	for _, e := range es {
		e.ID = ImportID(s.patient, e.Type, e.SourceID)
		if e.Type == "Patient" {
			e.ID = s.patient
		}
	}
	s.refs = RefMap(es)
	return s
}

// sameResource compares a resource read back with its source: equal except the id, the
// version and time the ledger adds to meta, and references resolved to ledger ids.
func sameResource(t *testing.T, src *Entry, refs map[string]string, got Object) {
	t.Helper()
	want, _ := Parse(mustMarshal(t, src.Resource))
	ResolveReferences(want, refs)
	got, _ = Parse(mustMarshal(t, got))
	if got["id"] != src.ID {
		t.Fatalf("%s %s: id %v, want %s", src.Type, src.SourceID, got["id"], src.ID)
	}
	meta, _ := got["meta"].(Object)
	if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Fatalf("%s %s: meta %v", src.Type, src.SourceID, meta)
	}
	delete(meta, "versionId")
	delete(meta, "lastUpdated")
	if len(meta) == 0 {
		delete(got, "meta")
	}
	delete(got, "id")
	delete(want, "id")
	if !reflect.DeepEqual(want, got) {
		a, _ := Marshal(want)
		b, _ := Marshal(got)
		t.Fatalf("%s %s differs:\nwant %s\n got %s", src.Type, src.SourceID, a, b)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTripAll40 imports every Synthea bundle and reads every resource back through
// the gateway (searches by patient and type, each resource an audited read).
func TestRoundTripAll40(t *testing.T) {
	f := newFixture(t, syntheaFiles(t))
	if f.st.Imported != 8138 || f.st.Patients != 40 || f.st.Failed != 0 {
		t.Fatalf("import: %s", f.st.Summary())
	}
	tok := f.token(f.cast.Provider)
	type job struct {
		s  *source
		rt string
	}
	var jobs []job
	var sources []*source
	for _, file := range f.files {
		s := f.source(file)
		sources = append(sources, s)
		for _, rt := range Supported {
			jobs = append(jobs, job{s, rt})
		}
	}
	got := make([]map[string]Object, len(jobs))
	errs := make([]string, len(jobs))
	parallel(len(jobs), 128, func(i int) {
		j := jobs[i]
		code, b := f.do(tok, "GET", "/"+j.rt+"?patient="+j.s.patient+"&_count=1000", nil)
		if code != http.StatusOK {
			errs[i] = j.rt + ": " + string(mustMarshal(t, b))
			return
		}
		got[i] = map[string]Object{}
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			r := e.(Object)["resource"].(Object)
			got[i][r["id"].(string)] = r
		}
		if n, _ := b["total"].(json.Number).Int64(); int(n) != len(entries) {
			errs[i] = j.rt + ": total disagrees with the entries"
		}
	})
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	byPatientType := map[string]map[string]Object{}
	for i, j := range jobs {
		byPatientType[j.s.patient+"/"+j.rt] = got[i]
	}
	n := 0
	for _, s := range sources {
		for _, e := range s.entries {
			r, ok := byPatientType[s.patient+"/"+e.Type][e.ID]
			if !ok {
				t.Fatalf("%s %s (%s) was not found through the gateway", e.Type, e.SourceID, e.ID)
			}
			sameResource(t, e, s.refs, r)
			n++
		}
		for _, rt := range Supported {
			want := 0
			for _, e := range s.entries {
				if e.Type == rt {
					want++
				}
			}
			if len(byPatientType[s.patient+"/"+rt]) != want {
				t.Fatalf("patient %s: %d %s through the gateway, %d in the bundle", s.patient, len(byPatientType[s.patient+"/"+rt]), rt, want)
			}
		}
	}
	if n != 8138 {
		t.Fatalf("compared %d resources, want 8138", n)
	}
}
