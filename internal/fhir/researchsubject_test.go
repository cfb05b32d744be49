package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestResearchSubject: a trial's enrolments read back as ResearchSubjects through the
// gateway, each valid R4. The participant sees their own by identity, the IRB and the
// regulator every participant by identity, the sponsor and the site investigators by
// dataset code only, anyone else nothing; status and consent state follow the ledger
// (re-consent needed after consent form v2, withdrawn after a withdrawal).
func TestResearchSubject(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	chainID, err := r.Client.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := Mount(r.Server, r.Node, keys.Dir{})
	send := func(ks *keys.Keystore, body tx.Body) {
		t.Helper()
		if _, err := r.Client.Send(ctx, ks, body); err != nil {
			t.Fatalf("%T by %s: %v", body, ks.Name, err)
		}
	}
	mk := func(name string, role identity.Role) *keys.Keystore {
		ks, err := keys.NewKeystore(name)
		if err != nil {
			t.Fatal(err)
		}
		if role == identity.Patient {
			send(ks, client.RegistrationFor(chainID, ks, role, "", "", ""))
		} else {
			send(reg, client.RegistrationFor(chainID, ks, role, name, "St Mary", "L-"+name))
		}
		gw.Unlock(ks)
		return ks
	}
	sponsor, invB, outsider := mk("dr-sponsor", identity.Provider), mk("dr-b", identity.Provider), mk("dr-out", identity.Provider)
	irb, regulator := mk("irb", identity.Auditor), mk("regulator", identity.Auditor)
	p1, p2, p3, p4 := mk("p1", identity.Patient), mk("p2", identity.Patient), mk("p3", identity.Patient), mk("p4", identity.Patient)

	send(sponsor, &trials.RegisterBody{Trial: "GLU-3", IRB: irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
		Protocol: trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 3,
			Outcomes:          trials.Outcomes{Primary: []trials.Outcome{{Measure: "HbA1c change", TimeFrame: "26 weeks"}}},
			Arms:              []trials.Arm{{Name: "drug"}, {Name: "placebo"}},
			Sites:             []trials.Site{{Name: "St Mary", Investigator: sponsor.ID}, {Name: "St Luke", Investigator: invB.ID}},
			PrimaryCompletion: "2030-01-01",
			ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active","title":"Glucose study 3"}`)}})
	send(irb, &trials.ApproveBody{Trial: "GLU-3", Version: 1, Sign: trials.Sign{Meaning: trials.Approval, Reason: "full board"}})
	form := func(d string) {
		send(irb, &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat(d, 32), Categories: []string{"general"},
			Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent " + d}})
	}
	form("c1")
	for _, e := range []struct {
		p         *keys.Keystore
		inv       *keys.Keystore
		site, arm string
	}{{p1, sponsor, "St Mary", "drug"}, {p2, invB, "St Luke", "placebo"}, {p3, sponsor, "St Mary", "placebo"}} {
		send(e.p, &consent.GrantBody{Grant: consent.Grant{Grantee: e.inv.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
		send(e.inv, &trials.EnrolBody{Trial: "GLU-3", Participant: e.p.ID, Site: e.site, Arm: e.arm, ConsentForm: 1})
	}
	form("c2")
	send(p1, &trials.ReconsentBody{Trial: "GLU-3", ConsentForm: 2})
	send(p3, &trials.WithdrawBody{Trial: "GLU-3", Reason: "moving away"})
	code := func(p *keys.Keystore) string { return trials.GetEnrolment(r.Node.View(), "GLU-3", p.ID).Code }

	base := r.Client.Base + Prefix
	token := func(ks *keys.Keystore) string {
		t.Helper()
		code, body := benchTokenRequest(base, SignAssertion(ks, base+"/auth/token", time.Now(), 2*time.Minute))
		if code != http.StatusOK {
			t.Fatalf("token for %s: %d %s", ks.Name, code, body)
		}
		return tokenOf(body)
	}
	get := func(ks *keys.Keystore, path string) (int, []byte, Object) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token(ks))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		// Every answer, match or refusal, is valid R4.
		o, err := Validate(buf.Bytes())
		if err != nil {
			t.Fatalf("GET %s as %s: %d, invalid R4: %v\n%s", path, ks.Name, resp.StatusCode, err, buf.Bytes())
		}
		return resp.StatusCode, buf.Bytes(), o
	}
	search := func(ks *keys.Keystore, q string) (Object, []byte) {
		t.Helper()
		st, raw, o := get(ks, "/ResearchSubject?"+q)
		if st != http.StatusOK || o["resourceType"] != "Bundle" {
			t.Fatalf("search %s as %s: %d %s", q, ks.Name, st, raw)
		}
		return o, raw
	}
	entries := func(b Object) map[string]Object {
		out := map[string]Object{}
		es, _ := b["entry"].([]any)
		for _, e := range es {
			res := e.(Object)["resource"].(Object)
			out[res["id"].(string)] = res
		}
		return out
	}
	field := func(o Object, path ...string) any {
		var v any = o
		for _, p := range path {
			v = v.(Object)[p]
		}
		return v
	}
	consentExt := func(o Object) map[string]any {
		out := map[string]any{}
		for _, x := range o["extension"].([]any)[0].(Object)["extension"].([]any) {
			xo := x.(Object)
			for k, v := range xo {
				if strings.HasPrefix(k, "value") {
					out[xo["url"].(string)] = v
				}
			}
		}
		return out
	}
	num := func(v any) int64 { n, _ := v.(json.Number).Int64(); return n }

	// The regulator and the IRB: all three, by identity, with their states.
	for _, ks := range []*keys.Keystore{regulator, irb} {
		b, _ := search(ks, "study=GLU-3")
		got := entries(b)
		if total(b) != 3 || len(got) != 3 {
			t.Fatalf("%s sees %d subjects", ks.Name, len(got))
		}
		for _, c := range []struct {
			p             *keys.Keystore
			status, state string
			signed        int64
		}{{p1, "on-study", "consented", 2}, {p2, "on-study", "reconsent-needed", 1}, {p3, "withdrawn", "withdrawn", 1}} {
			o := got[code(c.p)]
			if o == nil || o["status"] != c.status || field(o, "individual", "reference") != "Patient/"+c.p.ID {
				t.Fatalf("%s: subject %s: %v", ks.Name, c.p.Name, o)
			}
			ext := consentExt(o)
			if ext["state"] != c.state || num(ext["signed"]) != c.signed || num(ext["inForce"]) != 2 {
				t.Fatalf("%s: consent of %s: %v", ks.Name, c.p.Name, ext)
			}
			if field(o, "study", "identifier", "value") != "GLU-3" || field(o, "study", "display") != "Glucose study 3" {
				t.Fatalf("study reference %v", o["study"])
			}
		}
		if _, ok := field(got[code(p3)], "period").(Object)["end"]; !ok {
			t.Fatal("the withdrawn subject's period has no end")
		}
		if _, ok := field(got[code(p1)], "period").(Object)["end"]; ok {
			t.Fatal("an on-study subject's period has an end")
		}
	}

	// The sponsor and a site investigator: all three by dataset code, no identity id anywhere.
	for _, ks := range []*keys.Keystore{sponsor, invB} {
		b, raw := search(ks, "study=GLU-3")
		got := entries(b)
		if len(got) != 3 {
			t.Fatalf("%s sees %d subjects", ks.Name, len(got))
		}
		for _, p := range []*keys.Keystore{p1, p2, p3} {
			if bytes.Contains(raw, []byte(p.ID)) {
				t.Fatalf("%s's answer names participant %s", ks.Name, p.Name)
			}
			o := got[code(p)]
			if o == nil || field(o, "individual", "identifier", "value") != code(p) || field(o, "individual", "reference") != nil {
				t.Fatalf("%s: subject %v", ks.Name, o)
			}
		}
		// Finding a participant by identity would map a code to a person: refused.
		if st, _, o := get(ks, "/ResearchSubject?patient="+p1.ID); st != http.StatusForbidden || o["resourceType"] != "OperationOutcome" {
			t.Fatalf("%s searching by patient: %d", ks.Name, st)
		}
		if b, _ := search(ks, "identifier="+SystemTrialParticipant+"|"+code(p2)); total(b) != 1 {
			t.Fatalf("%s by identifier: %d", ks.Name, total(b))
		}
	}

	// The participant: their own only, by identity; another's is not found, nor searchable.
	b, _ := search(p1, "")
	if got := entries(b); len(got) != 1 || got[code(p1)] == nil || field(got[code(p1)], "individual", "reference") != "Patient/"+p1.ID {
		t.Fatalf("p1 sees %v", got)
	}
	if st, _, o := get(p1, "/ResearchSubject/"+code(p1)); st != http.StatusOK || o["id"] != code(p1) || o["assignedArm"] != "drug" {
		t.Fatalf("p1 reads own: %d %v", st, o)
	}
	if st, _, _ := get(p1, "/ResearchSubject/"+code(p2)); st != http.StatusNotFound {
		t.Fatalf("p1 reads p2's subject: %d", st)
	}
	if st, _, _ := get(p1, "/ResearchSubject?individual=Patient/"+p2.ID); st != http.StatusForbidden {
		t.Fatalf("p1 searches p2: %d", st)
	}
	// Not enrolled, or no part in the trial: nothing.
	for _, ks := range []*keys.Keystore{p4, outsider} {
		if b, _ := search(ks, "study=GLU-3"); total(b) != 0 {
			t.Fatalf("%s sees %d subjects", ks.Name, total(b))
		}
		if st, _, _ := get(ks, "/ResearchSubject/"+code(p1)); st != http.StatusNotFound {
			t.Fatalf("%s reads p1's subject: %d", ks.Name, st)
		}
	}

	// Search parameters, as the regulator.
	for q, want := range map[string]int{
		"patient=" + p2.ID: 1, "individual=Patient/" + p2.ID: 1, "status=withdrawn": 1, "status=on-study": 2,
		"study=ResearchStudy/GLU-3": 3, "study=" + SystemTrial + "|GLU-3": 3, "study=NOPE": 0, "": 3,
		"_id=" + code(p1) + "," + code(p3): 2, "study=GLU-3&patient=" + p3.ID + "&status=on-study": 0,
	} {
		if b, _ := search(regulator, q); total(b) != want {
			t.Errorf("%q: %d, want %d", q, total(b), want)
		}
	}
	if st, _, _ := get(regulator, "/ResearchSubject?arm=drug"); st != http.StatusBadRequest {
		t.Errorf("unknown parameter: %d", st)
	}
	if st, _, _ := get(regulator, "/ResearchSubject?patient="+p1.ID+"&individual="+p2.ID); st != http.StatusBadRequest {
		t.Errorf("two different patients: %d", st)
	}
	// Read-only: the ledger's trial transactions change enrolments, not the gateway.
	req, _ := http.NewRequest("POST", base+"/ResearchSubject", strings.NewReader(`{"resourceType":"ResearchSubject"}`))
	req.Header.Set("Authorization", "Bearer "+token(sponsor))
	req.Header.Set("Content-Type", FHIRJSON)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST ResearchSubject: %v %v", err, resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	// The CapabilityStatement lists it.
	st, raw, cs := get(regulator, "/metadata")
	if st != http.StatusOK || !bytes.Contains(raw, []byte(`"type":"ResearchSubject"`)) {
		t.Fatalf("metadata: %d", st)
	}
	var found bool
	for _, res := range field(cs, "rest").([]any)[0].(Object)["resource"].([]any) {
		if res.(Object)["type"] == "ResearchSubject" {
			found = len(res.(Object)["searchParam"].([]any)) == len(researchSubjectParams)
		}
	}
	if !found {
		t.Fatal("the CapabilityStatement's ResearchSubject lacks its search parameters")
	}
}
