package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestInterchainEndpoints: a real node follows a counterparty chain (headers signed by four
// CometBFT validator keys, state from a real store); the client is public, and a proof
// check answers as a transaction citing the proof would.
func TestInterchainEndpoints(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)

	appHash, p := followSupply(t, ctx, c, reg, cast.Provider, []byte("supply/event/e1"), []byte("dispensed"))

	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		} else {
			rd = bytes.NewReader(nil)
		}
		rec := httptest.NewRecorder()
		r.Server.ServeHTTP(rec, httptest.NewRequest(method, path, rd))
		return rec.Code, rec.Body.Bytes()
	}
	status, out := call("GET", "/v1/interchain/clients/supply", nil)
	var info interchain.ClientInfo
	if err := json.Unmarshal(out, &info); status != http.StatusOK || err != nil || info.Client.LatestHeight != 2 || !bytes.Equal(info.Latest.AppHash, appHash) {
		t.Fatalf("client: HTTP %d %s", status, out)
	}
	good := (*interchain.StateProof)(p)
	status, out = call("POST", "/v1/interchain/clients/supply/check", &interchain.CheckRequest{Key: []byte("supply/event/e1"), Value: []byte("dispensed"), Proof: good})
	var ok interchain.CheckResult
	if err := json.Unmarshal(out, &ok); status != http.StatusOK || err != nil || ok.ProvenAt != 1 || ok.HeaderBy != 2 {
		t.Fatalf("check: HTTP %d %s", status, out)
	}

	flipped := *good
	flipped.Map = bytes.Clone(good.Map)
	flipped.Map[len(flipped.Map)-3] ^= 1
	later := *good
	later.Height = 2
	for _, c := range []struct {
		name   string
		path   string
		q      *interchain.CheckRequest
		status int
		code   uint32
	}{
		{"a flipped byte", "/v1/interchain/clients/supply/check", &interchain.CheckRequest{Key: []byte("supply/event/e1"), Value: []byte("dispensed"), Proof: &flipped}, http.StatusUnprocessableEntity, interchain.CodeProof},
		{"a key not in the state", "/v1/interchain/clients/supply/check", &interchain.CheckRequest{Key: []byte("supply/event/e2"), Value: []byte("dispensed"), Proof: good}, http.StatusUnprocessableEntity, interchain.CodeProof},
		{"a height never verified", "/v1/interchain/clients/supply/check", &interchain.CheckRequest{Key: []byte("supply/event/e1"), Value: []byte("dispensed"), Proof: &later}, http.StatusNotFound, interchain.CodeUnverified},
		{"an unknown client", "/v1/interchain/clients/nobody/check", &interchain.CheckRequest{Key: []byte("supply/event/e1"), Value: []byte("dispensed"), Proof: good}, http.StatusNotFound, interchain.CodeNotFound},
	} {
		status, out := call("POST", c.path, c.q)
		var e tx.Error
		if err := json.Unmarshal(out, &e); status != c.status || err != nil || e.Codespace != string(interchain.Space) || e.Code != c.code {
			t.Fatalf("%s: HTTP %d %s, want %d %s/%d", c.name, status, out, c.status, interchain.Space, c.code)
		}
	}
}
