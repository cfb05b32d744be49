package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	ehrnode "github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// BenchmarkImportSynthea imports the 40 Synthea bundles (8,138 resources) into a fresh
// node per iteration and reports resources/s and patients/s, with the setup (parsing and
// validation, patient keystores, registrations, key publication) inside the time. Patient
// keystores use the cheap test KDF; the CLI uses the default argon2id cost, reported
// separately by BenchmarkPatientKeystore. Then it reads and searches through the gateway
// and reports latency percentiles.
//
//	go test -run '^$' -bench ImportSynthea -benchtime 1x ./internal/fhir
func BenchmarkImportSynthea(b *testing.B) {
	files, err := Files([]string{dataDir(b, "synthea-r4")})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		home, reg := benchHome(b)
		r := nodetest.Start(b, home)
		ctx := context.Background()
		cast := nodetest.RegisterCast(b, ctx, r.Client, reg)
		im := benchImporter(b, r.Client, cast.Provider)
		b.StartTimer()
		cpu0 := cpuTime()
		st, err := im.Import(ctx, files)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
		secs := st.Elapsed.Seconds()
		b.ReportMetric(float64(st.Imported)/secs, "resources/s")
		b.ReportMetric(float64(st.Patients)/secs, "patients/s")
		b.ReportMetric(st.Setup.Seconds(), "setup-s")
		b.ReportMetric(secs, "import-s")
		benchGateway(b, r, cast, im, st, files)
		r.Stop()
		b.StartTimer()
	}
}

// benchGateway measures single reads and searches by the importing provider, 8 clients
// at a time.
func benchGateway(b *testing.B, r *nodetest.Running, cast nodetest.Cast, im *Importer, st *ImportStats, files []string) {
	f := &fixture{t: b, r: r, cast: cast, im: im, st: st, base: r.Client.Base + Prefix, files: files}
	f.gw = Mount(r.Server, r.Node, im.Keys)
	f.gw.Unlock(cast.Provider)
	tok := f.benchToken(b)
	var reads, searches, finds []string
	for _, file := range files {
		s := f.source(file)
		pat := sourceOf(s).Resource
		finds = append(finds, "/Patient?family="+url.QueryEscape(pat["name"].([]any)[0].(Object)["family"].(string))+"&birthdate="+pat["birthDate"].(string))
		for i, e := range s.entries {
			if i%40 == 0 {
				reads = append(reads, "/"+e.Type+"/"+e.ID)
			}
		}
		searches = append(searches, "/Observation?patient="+s.patient+"&category=vital-signs&date=ge2015&_sort=-date&_count=20",
			"/Condition?patient="+s.patient, "/Encounter?patient="+s.patient+"&date=ge2018")
	}
	// The first patient search indexes every patient the provider may read (one audited
	// read each); later ones read their matches only.
	t0 := time.Now()
	if code, b2 := benchGet(f.base+"/Patient?family=Nosuch", tok); code != 200 {
		b.Fatalf("first patient search: %d %s", code, b2)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "patient-search-first-ms")
	for _, c := range []struct {
		name  string
		paths []string
	}{{"read", reads}, {"search", searches}, {"patient-search", finds}} {
		lat := make([]time.Duration, len(c.paths))
		parallel(len(c.paths), 8, func(i int) {
			t0 := time.Now()
			req, _ := http.NewRequest("GET", f.base+c.paths[i], nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("%s: %v %v", c.paths[i], err, resp.StatusCode)
				return
			}
			resp.Body.Close()
			lat[i] = time.Since(t0)
		})
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), c.name+"-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), c.name+"-p99-ms")
		b.ReportMetric(float64(len(lat)), c.name+"s")
	}
}

func benchGet(u, tok string) (int, string) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	return resp.StatusCode, ""
}

func (f *fixture) benchToken(b *testing.B) string {
	code, body := benchTokenRequest(f.base, SignAssertion(f.cast.Provider, f.base+"/auth/token", time.Now(), time.Minute))
	if code != 200 {
		b.Fatalf("token: %d %s", code, body)
	}
	return tokenOf(body)
}

// BenchmarkPatientKeystore is the cost the CLI pays per new patient: a fresh identity and
// category keys, encrypted with the default argon2id cost.
func BenchmarkPatientKeystore(b *testing.B) {
	for b.Loop() {
		ks, err := keys.NewKeystore("p")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := keys.Encrypt(ks, []byte("passphrase"), keys.DefaultKDF); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the user+system CPU time of this process (node and importer both).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFHIRLatency is the price of an audited read, measured as an integrator sees it:
// one client, one request at a time, on a single node with the default configuration
// (nodetest: block_ms 200 unless BENCH_BLOCK_MS says otherwise), holding 4 imported Synthea
// patients. Each round sends, in turn, GET /v1/status (no ledger work: the floor), a FHIR
// read (one audited read), a search within a patient (an audited read per candidate, run
// in parallel, so one block), a patient search (the patient index, then one audited read)
// and a create (one write transaction); it reports p50 and p99 of each and the p50 ratio to
// status. BENCH_ROUNDS sets the rounds (default 60).
//
//	go test -run '^$' -bench FHIRLatency -benchtime 1x ./internal/fhir
func BenchmarkFHIRLatency(b *testing.B) {
	rounds := 60
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	files := syntheaFiles(b)[:4]
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		home, reg := benchHome(b)
		r := nodetest.Start(b, home)
		ctx := context.Background()
		cast := nodetest.RegisterCast(b, ctx, r.Client, reg)
		im := benchImporter(b, r.Client, cast.Provider)
		st, err := im.Import(ctx, files)
		if err != nil {
			b.Fatal(err)
		}
		f := &fixture{t: b, r: r, cast: cast, im: im, st: st, base: r.Client.Base + Prefix, files: files}
		f.gw = Mount(r.Server, r.Node, im.Keys)
		f.gw.Unlock(cast.Provider)
		tok := f.benchToken(b)
		var reads, searches, finds []string
		var patients []string
		for _, file := range files {
			s := f.source(file)
			pat := sourceOf(s).Resource
			patients = append(patients, s.patient)
			finds = append(finds, "/Patient?family="+url.QueryEscape(pat["name"].([]any)[0].(Object)["family"].(string))+"&birthdate="+pat["birthDate"].(string))
			for j, e := range s.entries {
				if j%10 == 0 {
					reads = append(reads, "/"+e.Type+"/"+e.ID)
				}
			}
			searches = append(searches, "/Condition?patient="+s.patient, "/Immunization?patient="+s.patient+"&date=ge2015")
		}
		if code, body := benchGet(f.base+"/Patient?family=Nosuch", tok); code != 200 { // indexes the patients
			b.Fatalf("first patient search: %d %s", code, body)
		}
		type op struct {
			name string
			do   func(k int) (int, error)
		}
		get := func(u string) (int, error) {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return send(req)
		}
		ops := []op{
			{"status", func(int) (int, error) { return get(r.Client.Base + "/v1/status") }},
			{"read", func(k int) (int, error) { return get(f.base + reads[k%len(reads)]) }},
			{"search", func(k int) (int, error) { return get(f.base + searches[k%len(searches)]) }},
			{"patient-search", func(k int) (int, error) { return get(f.base + finds[k%len(finds)]) }},
			{"create", func(k int) (int, error) {
				obs := Object{"resourceType": "Observation", "status": "final", "subject": Object{"reference": "Patient/" + patients[k%len(patients)]},
					"code":              Object{"coding": []any{Object{"system": "http://loinc.org", "code": "8310-5"}}},
					"effectiveDateTime": "2026-03-04T05:06:07Z",
					"valueQuantity":     Object{"value": json.Number("36.6"), "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}}
				body, _ := Marshal(obs)
				req, _ := http.NewRequest("POST", f.base+"/Observation", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", FHIRJSON)
				return send(req)
			}},
		}
		lat := make([][]time.Duration, len(ops))
		b.StartTimer()
		for k := 0; k < rounds; k++ {
			for j, o := range ops {
				t0 := time.Now()
				code, err := o.do(k)
				if err != nil || code >= 300 {
					b.Fatalf("%s: %d %v", o.name, code, err)
				}
				lat[j] = append(lat[j], time.Since(t0))
			}
		}
		b.StopTimer()
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		var status time.Duration
		for j, o := range ops {
			slices.Sort(lat[j])
			p50, p99 := lat[j][len(lat[j])/2], lat[j][len(lat[j])*99/100]
			if o.name == "status" {
				status = p50
			}
			b.ReportMetric(ms(p50), o.name+"-p50-ms")
			b.ReportMetric(ms(p99), o.name+"-p99-ms")
			if o.name != "status" && status > 0 {
				b.ReportMetric(float64(p50)/float64(status), o.name+"/status")
			}
		}
		r.Stop()
		b.StartTimer()
	}
}

// benchHome is a fresh single-node home with the default configuration, or with the block
// interval BENCH_BLOCK_MS (ms) if set, to compare intervals.
func benchHome(b *testing.B) (string, *keys.Keystore) {
	home, reg := nodetest.Init(b)
	if ms, err := strconv.Atoi(os.Getenv("BENCH_BLOCK_MS")); err == nil {
		cfg, err := ehrnode.LoadConfig(home)
		if err != nil {
			b.Fatal(err)
		}
		cfg.BlockMS = ms
		if err := cfg.Save(ehrnode.Paths{Home: home}.Config()); err != nil {
			b.Fatal(err)
		}
	}
	return home, reg
}

// send does the request, drains the body and returns the status.
func send(req *http.Request) (int, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// BenchmarkGranteeScan is the metadata work a cross-patient request does before it reads
// anything: the Patient resources the caller may read (patient search, matchPatients) and
// the versions of the records it may read (system _history), on a node holding the 40
// Synthea patients (8,138 records). "granted-1" is a provider of another organization
// granted one patient's general records; "author-40" is the importing provider, author of
// every record. The no-index runs look at every registered patient, as the gateway did
// before its reader index (and does if the index cannot read the audit log).
//
//	go test -run '^$' -bench GranteeScan ./internal/fhir
func BenchmarkGranteeScan(b *testing.B) {
	files := syntheaFiles(b)
	home, reg := nodetest.Init(b)
	r := nodetest.Start(b, home)
	ctx := context.Background()
	cast := nodetest.RegisterCast(b, ctx, r.Client, reg)
	im := benchImporter(b, r.Client, cast.Provider)
	st, err := im.Import(ctx, files)
	if err != nil {
		b.Fatal(err)
	}
	other, err := keys.NewKeystore("dr-other")
	if err != nil {
		b.Fatal(err)
	}
	chainID, _ := r.Client.ChainIDOf(ctx)
	if _, err := r.Client.Send(ctx, reg, client.RegistrationFor(chainID, other, identity.Provider, "Dr Other", "City Clinic", "MD-9")); err != nil {
		b.Fatal(err)
	}
	f := &fixture{t: b, r: r, cast: cast, im: im, st: st, base: r.Client.Base + Prefix, files: files}
	s := f.source(files[0])
	data, err := im.Keys.Load(PatientKeystoreName(sourceOf(s).SourceID))
	if err != nil {
		b.Fatal(err)
	}
	pks, err := keys.Decrypt(data, im.Passphrase)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Client.Grant(ctx, pks, consent.Grant{Grantee: other.ID, Scope: consent.Scope{Categories: []string{CatGeneral}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}}); err != nil {
		b.Fatal(err)
	}
	g := Mount(r.Server, r.Node, im.Keys)
	v := r.Node.View()
	for _, c := range []struct {
		name     string
		ks       *keys.Keystore
		patients int
		index    bool
	}{{"granted-1", other, 1, true}, {"author-40", cast.Provider, 40, true}, {"granted-1/no-index", other, 1, false}, {"author-40/no-index", cast.Provider, 40, false}} {
		sess := &session{ks: c.ks, who: identity.Get(v, c.ks.ID)}
		g.readers.mu.Lock()
		g.readers.broken, g.readers.next, g.readers.by = !c.index, 0, nil // broken: every patient, as before the index
		g.readers.mu.Unlock()
		b.Run("patient-search/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if n := len(g.readablePatients(sess, consent.Treatment)); n != c.patients {
					b.Fatalf("%d readable patients, want %d", n, c.patients)
				}
			}
		})
		b.Run("system-history/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, vs := g.historyVersions(sess, consent.Treatment, IsSupported, time.Time{}); len(vs) == 0 {
					b.Fatal("no versions")
				}
			}
		})
	}
}

// benchImporter is an importer for provider over c, with its patients' keystores (at test
// KDF cost) and its journal in temporary directories.
func benchImporter(b *testing.B, c *client.Client, provider *keys.Keystore) *Importer {
	return &Importer{Client: c, Provider: provider, Keys: keys.Dir{Path: filepath.Join(b.TempDir(), "keys")},
		Passphrase: []byte("bench"), KDF: keys.TestKDF, Journal: filepath.Join(b.TempDir(), "journal")}
}
