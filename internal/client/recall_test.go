package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/recalltest"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

const epcisSchema = "../../../shared/data/epcis-2.0/schema/EPCIS-JSON-Schema.json"

// recorder remembers every request a client sends and may rewrite the answers.
type recorder struct {
	mu      sync.Mutex
	next    http.RoundTripper
	seen    []*http.Request
	rewrite func(*http.Request, []byte) []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Clone(context.Background()))
	rw := r.rewrite
	r.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if err != nil || rw == nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = rw(req, b)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestRecallAlertsReachThePatient: a pharmacy dispensed one pack of each of two lots to
// one patient and a pack of the good lot to another, writing each dispense into the
// patient's encrypted chart; the manufacturer recalls one lot. The first patient's own
// client finds exactly the pack of the recalled lot, with an answer proven against the
// node's app hash; the second finds nothing. The verification queries carry no identity
// and nothing but the pack's code; a node that hides the recall is caught.
func TestRecallAlertsReachThePatient(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	if err := r.Server.ConfigureEPCIS(epcisSchema); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := recalltest.Build(t, ctx, r.Client, reg, recalltest.Options{})

	rec := &recorder{next: http.DefaultTransport}
	base := client.New(r.Client.Base)
	base.HTTP.Transport = rec
	cl := base.As(s.Affected) // the portal's and CLI's client signs the patient's queries
	alerts, err := cl.RecallAlerts(ctx, s.Affected)
	if err != nil {
		t.Fatal(err)
	}
	recalled := s.Packs[s.Affected.ID][1]
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1 (the pack of lot %s): %+v", len(alerts), recalltest.RecalledLot, alerts)
	}
	a := alerts[0]
	if a.Code != recalled || a.Answer.Verdict.Answer != supply.AnswerRecalled || a.Medication != recalltest.Medication ||
		a.Record != s.Records[s.Affected.ID][1] {
		t.Fatalf("alert %+v %+v, want the recalled pack %+v of record %s", a.ChartPack, a.Answer.Verdict, recalled, s.Records[s.Affected.ID][1])
	}
	if err := a.Answer.Verify(a.AppHash); err != nil {
		t.Fatalf("the alert's answer does not verify against its app hash: %v", err)
	}

	// The chart: one listing and the two dispense records read; the Observation beside
	// them is not opened.
	reads := 0
	for _, q := range rec.seen {
		if q.URL.Path == "/v1/read" {
			reads++
		}
	}
	if reads != 3 {
		t.Fatalf("%d reads of the chart, want 3 (the listing and the two dispense records)", reads)
	}

	// What the node saw of the verification: unsigned GETs naming only the code.
	verifies := 0
	for _, q := range rec.seen {
		if q.URL.Path != "/epcis/verify" {
			continue
		}
		verifies++
		for _, h := range []string{identity.QueryHeaderIdentity, identity.QueryHeaderSignature, "Authorization"} {
			if q.Header.Get(h) != "" {
				t.Errorf("a verification query carried the header %s", h)
			}
		}
		if strings.Contains(q.URL.String(), s.Affected.ID) || len(q.URL.Query()) != 1 || q.URL.Query().Get("code") == "" {
			t.Errorf("a verification query carried more than the code: %s", q.URL)
		}
	}
	if verifies < 2 {
		t.Fatalf("%d verification queries for the two dispensed packs", verifies)
	}
	if packs, err := cl.DispensedPacksOf(ctx, s.Affected); err != nil || len(packs) != 2 {
		t.Fatalf("the affected patient's chart names %+v (%v), want the two dispensed packs", packs, err)
	}
	clear, err := base.As(s.Clear).RecallAlerts(ctx, s.Clear)
	if err != nil {
		t.Fatal(err)
	}
	if len(clear) != 0 {
		t.Fatalf("the patient without a recalled pack got alerts: %+v", clear)
	}

	// A node that hides the recall (answers genuine for the recalled pack) is caught: the
	// proven lot record says recalled, so the check fails rather than stay silent.
	rec.mu.Lock()
	rec.rewrite = func(q *http.Request, b []byte) []byte {
		if q.URL.Path != "/epcis/verify" {
			return b
		}
		var v wire.VerifyResponse
		if json.Unmarshal(b, &v) != nil || v.Verdict.Answer != supply.AnswerRecalled {
			return b
		}
		v.Verdict = supply.Verdict{Answer: supply.AnswerGenuine, Detail: "nothing to see"}
		out, _ := json.Marshal(v)
		return out
	}
	rec.mu.Unlock()
	if got, err := cl.RecallAlerts(ctx, s.Affected); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a hidden recall gave %+v, %v; want an error saying the answer does not verify", got, err)
	}
}
