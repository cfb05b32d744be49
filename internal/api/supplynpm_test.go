package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// npmClientDir holds the third-party EPCIS client (epcis2.js, pinned in package-lock.json)
// and the script that drives the node with it.
const npmClientDir = "testdata/epcis-npm"

// npmInstalled runs npm ci in npmClientDir unless its node_modules exist.
func npmInstalled(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node (Node.js) is needed to run the npm EPCIS client; install Node.js 20 and npm")
	}
	if _, err := os.Stat(filepath.Join(npmClientDir, "node_modules", "epcis2.js", "package.json")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = npmClientDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", npmClientDir, err, out)
	}
}

// bearer gets a gateway token for ks (unlocked on the node) with a signed JWT assertion.
func bearer(t *testing.T, base string, ks *keys.Keystore) string {
	t.Helper()
	tokenURL := base + fhir.Prefix + "/auth/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {fhir.AssertionType},
		"client_assertion": {fhir.SignAssertion(ks, tokenURL, time.Now(), 2*time.Minute)}}
	resp, err := http.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token for %s: HTTP %d, %v", ks.Name, resp.StatusCode, err)
	}
	return tok.AccessToken
}

// TestEPCISNpmClient: epcis2.js, a third-party EPCIS 2.0 client from npm, builds an
// EPCISDocument with its own classes, captures it through its own capture() with a
// partner's bearer token (GS1's REST binding: a bare EPCISDocument, which the node signs
// for the partner whose keystore it holds unlocked), and queries the events back page by
// page. Its own Event Hash IDs (eventID) match the ledger's.
func TestEPCISNpmClient(t *testing.T) {
	npmInstalled(t)
	ch := newChain(t)
	g := fhir.Mount(ch.r.Server, ch.r.Node, keys.Dir{})
	g.Unlock(ch.acme)
	g.Unlock(ch.rival)
	base := ch.c.Base
	tok := bearer(t, base, ch.acme)

	ctx, cancel := context.WithTimeout(ch.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "capture-query.js")
	cmd.Dir = npmClientDir
	cmd.Env = append(os.Environ(), "EHRCHAIN_API="+base, "EHRCHAIN_TOKEN="+tok)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node capture-query.js: %v\n%s", err, stderr.String())
	}
	var got struct {
		Document json.RawMessage `json:"document"`
		Sent     []string        `json:"sent"`
		Captured []struct {
			HashID string `json:"hash_id"`
			New    bool   `json:"new"`
		} `json:"captured"`
		Queried []struct {
			EventID, Type, BizStep string
		} `json:"queried"`
		Pages int `json:"pages"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the script printed %q: %v", out, err)
	}
	if len(got.Captured) != 2 || !got.Captured[0].New || !got.Captured[1].New {
		t.Fatalf("capture answered %+v", got.Captured)
	}
	// The node identifies the events by GS1's algorithm (the vectors in
	// ../shared/data/epcis-2.0/event-hash), computed here from the document the library sent.
	want, err := epcis.HashDocument(got.Document)
	if err != nil || len(want) != 2 {
		t.Fatalf("the document epcis2.js sent: %v", err)
	}
	for i, c := range got.Captured {
		if c.HashID != want[i].HashID {
			t.Fatalf("event %d: the node identifies it as %s, GS1's algorithm as %s", i, c.HashID, want[i].HashID)
		}
		if c.HashID != got.Sent[i] {
			t.Logf("event %d: epcis2.js's own hash %s differs from GS1's algorithm (%s)", i, got.Sent[i], c.HashID)
		}
		ev, err := ch.c.As(ch.fda).EPCISEvent(ch.ctx, c.HashID)
		if err != nil || ev.CapturedBy != ch.acme.ID {
			t.Fatalf("event %s on the ledger: %+v, %v", c.HashID, ev, err)
		}
	}
	if got.Captured[0].HashID != got.Sent[0] {
		t.Fatalf("the commissioning ObjectEvent: epcis2.js %s, the node %s", got.Sent[0], got.Captured[0].HashID)
	}
	if got.Pages != 2 || len(got.Queried) != 2 || got.Queried[0].EventID != got.Sent[0] || got.Queried[1].EventID != got.Sent[1] ||
		got.Queried[0].BizStep != "commissioning" || got.Queried[1].Type != "AggregationEvent" {
		t.Fatalf("the query answered %+v in %d pages", got.Queried, got.Pages)
	}

	// The token is the partner's: Rival's token sees none of Acme's events; a made-up
	// token neither captures nor queries.
	rivalTok := bearer(t, base, ch.rival)
	for _, c := range []struct {
		token  string
		status int
		events int
	}{{rivalTok, 200, 0}, {"not-a-token", 401, -1}} {
		req, _ := http.NewRequest("GET", base+"/epcis/events?MATCH_anyEPC="+url.QueryEscape("urn:epc:id:sgtin:4012345.012345.2001"), nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			EPCISBody struct {
				QueryResults struct {
					ResultsBody struct {
						EventList []json.RawMessage `json:"eventList"`
					} `json:"resultsBody"`
				} `json:"queryResults"`
			} `json:"epcisBody"`
		}
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.events >= 0 && len(doc.EPCISBody.QueryResults.ResultsBody.EventList) != c.events) {
			t.Fatalf("query with token %.8s…: HTTP %d, %d events", c.token, resp.StatusCode, len(doc.EPCISBody.QueryResults.ResultsBody.EventList))
		}
	}
	// The trace takes the tokens too: Acme's traces its pack, Rival's is refused.
	for _, c := range []struct {
		token  string
		status int
	}{{tok, http.StatusOK}, {rivalTok, http.StatusForbidden}} {
		req, _ := http.NewRequest("GET", base+"/epcis/items/"+url.PathEscape("urn:epc:id:sgtin:4012345.012345.2001")+"/trace", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("trace with token %.8s…: HTTP %d, want %d", c.token, resp.StatusCode, c.status)
		}
	}
	storing := string(ch.storyDoc(observeEvent("storing", "urn:epc:id:sgtin:4012345.012345.2001")))
	for _, c := range []struct {
		name, token, body string
		status            int
	}{
		{"a made-up token", "not-a-token", storing, http.StatusUnauthorized},
		// A token names whom the node signs for; a body that is already signed is refused.
		{"a signed transaction with a token", tok, `{"tx":"AAAA"}`, http.StatusBadRequest},
		{"no EPCISDocument", tok, `{"type":"EPCISQueryDocument"}`, http.StatusBadRequest},
		{"the partner's token", tok, storing, http.StatusOK},
	} {
		req, _ := http.NewRequest("POST", base+"/epcis/capture", strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("capture with %s: HTTP %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
}
