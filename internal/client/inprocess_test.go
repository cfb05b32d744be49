package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/operator"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestInProcessServesTheHandler: a request reaches the handler as a server request would
// (method, path and query, body, headers), and the answer comes back whole.
func TestInProcessServesTheHandler(t *testing.T) {
	var seen *http.Request
	var body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusTeapot) // ignored: the first status wins
		json.NewEncoder(w).Encode(wire.Result{Hash: "ab", Height: 7})
	})
	c := InProcess(h)
	res, err := c.Submit(context.Background(), []byte{1, 2}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hash != "ab" || res.Height != 7 {
		t.Fatalf("answer lost on the way back: %+v", res)
	}
	if seen.Method != "POST" || seen.RequestURI != "/v1/tx" || seen.URL.Path != "/v1/tx" || seen.Host != "node.internal" {
		t.Fatalf("handler saw %s %q (path %q) host %q", seen.Method, seen.RequestURI, seen.URL.Path, seen.Host)
	}
	if seen.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"tx":"AQI="`) || !strings.Contains(body, `"wait":true`) {
		t.Fatalf("request body or headers lost: %q %v", body, seen.Header)
	}
	if seen.RemoteAddr != inProcessAddr {
		t.Fatalf("remote address %q", seen.RemoteAddr)
	}
}

// TestInProcessErrorsAreCoded: a coded error answer becomes a *Error with its HTTP status,
// as from a remote node.
func TestInProcessErrorsAreCoded(t *testing.T) {
	c := InProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(wire.TxError{Error: *wire.Space.Err(wire.CodeNotFound, "no such tx")})
	}))
	_, err := c.Tx(context.Background(), "00")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Codespace != "api" || e.Code != wire.CodeNotFound {
		t.Fatalf("got %v", err)
	}
}

// TestInProcessIsNotLoopback: the gateway and the portal act for remote users, so their
// in-process requests must not pass a loopback-only guard, even with the right token.
func TestInProcessIsNotLoopback(t *testing.T) {
	reached := false
	guarded := operator.Require("secret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	c := InProcess(guarded)
	req, err := http.NewRequest("POST", c.Base+operator.Prefix+"backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	operator.SetToken(req, "secret")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if reached || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an in-process request passed the loopback guard (status %d)", resp.StatusCode)
	}
}

// TestInProcessLeavesTheRequestAlone: a RoundTripper must not modify the caller's request.
func TestInProcessLeavesTheRequestAlone(t *testing.T) {
	c := InProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, _ := http.NewRequest("GET", c.Base+"/v1/status?x=1", nil)
	resp, err := c.HTTP.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.RequestURI != "" || req.RemoteAddr != "" || resp.StatusCode != http.StatusOK {
		t.Fatalf("request modified (%q %q) or status %d", req.RequestURI, req.RemoteAddr, resp.StatusCode)
	}
}
