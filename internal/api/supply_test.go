package api_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

const epcisData = "../../../shared/data/epcis-2.0"

func newPartner(t *testing.T, ctx context.Context, c *client.Client, reg *keys.Keystore, role identity.Role, org string) *keys.Keystore {
	t.Helper()
	ks, err := keys.NewKeystore(strings.ToLower(strings.ReplaceAll(org, " ", "-")))
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := c.ChainIDOf(ctx)
	if _, err := c.Send(ctx, reg, client.RegistrationFor(chainID, ks, role, org, org, "")); err != nil {
		t.Fatal(err)
	}
	return ks
}

func clientErr(t *testing.T, what string, err error, status int, space tx.Codespace, code uint32) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Codespace != string(space) || e.Code != code {
		t.Fatalf("%s: got %v, want HTTP %d %s/%d", what, err, status, space, code)
	}
}

// TestEPCISCaptureOverHTTP: a node captures only once it has GS1's schema; then a bound
// manufacturer's documents are validated, signed, committed and readable by Event Hash ID;
// a schema violation is refused naming the element, also when sent as a bare transaction.
func TestEPCISCaptureOverHTTP(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := r.Client
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := keys.NewKeystore("acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, reg, client.RegistrationFor(chainID, acme, identity.Manufacturer, "Acme", "Acme Pharma", "")); err != nil {
		t.Fatal(err)
	}
	if err := c.BindPartner(ctx, reg, supply.BindBody{Partner: acme.ID, Prefixes: []string{"4012345"}}); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(epcisData, "examples", "Example_9.6.4-TransformationEvent.jsonld"))
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.Capture(ctx, acme, doc)
	clientErr(t, "capture without a schema", err, http.StatusServiceUnavailable, "api", 3)
	if !strings.Contains(err.Error(), "epcis_schema") {
		t.Fatalf("the refusal does not say what to configure: %v", err)
	}
	if err := r.Server.ConfigureEPCIS(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing schema file was accepted")
	}
	if err := r.Server.ConfigureEPCIS(filepath.Join(epcisData, "schema", "EPCIS-JSON-Schema.json")); err != nil {
		t.Fatal(err)
	}

	got, err := c.Capture(ctx, acme, doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := epcis.HashDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != len(want) || got.Events[0].HashID != want[0].HashID || !got.Events[0].New {
		t.Fatalf("capture answered %+v, want %s new", got.Events, want[0].HashID)
	}
	again, err := c.Capture(ctx, acme, doc)
	if err != nil || again.Events[0].New {
		t.Fatalf("second capture: %+v, %v; want the event not new", again, err)
	}
	// Reading an event: its capturer and a regulator, by signed query; nobody else.
	fda, rival := newPartner(t, ctx, c, reg, identity.Regulator, "Drug Agency"), newPartner(t, ctx, c, reg, identity.Manufacturer, "Rival")
	for _, who := range []*keys.Keystore{acme, fda} {
		for _, id := range []string{want[0].HashID, supply.Digest(want[0].HashID)} {
			ev, err := c.As(who).EPCISEvent(ctx, id)
			if err != nil || ev.HashID != want[0].HashID || ev.CapturedBy != acme.ID || ev.Height != got.Height {
				t.Fatalf("GET %s as %s: %+v, %v", id, who.Name, ev, err)
			}
		}
	}
	_, err = c.EPCISEvent(ctx, want[0].HashID)
	clientErr(t, "unsigned read", err, http.StatusUnauthorized, identity.Space, identity.CodeUnsigned)
	_, err = c.As(rival).EPCISEvent(ctx, want[0].HashID)
	clientErr(t, "a competitor's read", err, http.StatusForbidden, identity.Space, identity.CodeNotEntitled)
	_, err = c.As(acme).EPCISEvent(ctx, strings.Repeat("0", 64))
	clientErr(t, "unknown event", err, http.StatusNotFound, supply.Space, supply.CodeNotFound)
	_, err = c.As(acme).EPCISEvent(ctx, "not-a-hash")
	clientErr(t, "malformed hash", err, http.StatusBadRequest, "api", 1)

	// A schema violation names the failing element, whichever endpoint carries it.
	bad := []byte(strings.Replace(string(doc), `"TransformationEvent"`, `"TransmogrificationEvent"`, 1))
	_, err = c.Capture(ctx, acme, bad)
	clientErr(t, "schema violation", err, http.StatusBadRequest, "api", 1)
	if !strings.Contains(err.Error(), "/epcisBody/eventList/0") {
		t.Fatalf("the refusal does not name the element: %v", err)
	}
	bypass := &supply.CaptureBody{Document: bad}
	_, err = c.Send(ctx, acme, bypass)
	clientErr(t, "schema violation through /v1/tx", err, http.StatusBadRequest, "api", 1)
}
