package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestSignedQueriesVerify: a client made with As signs its GET queries so that the node's
// own check (identity.CheckQuery) accepts them, over the exact URI the node sees, escaped
// query included; the client it was made from stays anonymous.
func TestSignedQueriesVerify(t *testing.T) {
	ks, err := keys.NewKeystore("dr")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string // the requester of each identities query ("" anonymous)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/status":
			json.NewEncoder(w).Encode(wire.Status{ChainID: "c"})
		case "/v1/identities":
			id, e := identity.CheckQuery("c", r.Method, r.RequestURI, r.Header, time.Now(), func(id string) ed25519.PublicKey {
				if id == ks.ID {
					return ks.Keys.SignPublic()
				}
				return nil
			})
			if e != nil {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(e)
				return
			}
			if r.URL.Query().Get("role") != "patient & co" {
				t.Errorf("role arrived as %q", r.URL.Query().Get("role"))
			}
			asked = append(asked, id)
			json.NewEncoder(w).Encode(map[string]any{"identities": []any{}})
		}
	})
	c := InProcess(h)
	if _, err := c.As(ks).Identities(context.Background(), "patient & co"); err != nil {
		t.Fatalf("a signed query was refused: %v", err)
	}
	if _, err := c.Identities(context.Background(), "patient & co"); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0] != ks.ID || asked[1] != "" {
		t.Fatalf("requesters seen %q, want [%s, anonymous]", asked, ks.ID)
	}
	// Signed for another chain, the node refuses it with its coded error.
	other := InProcess(h)
	other.ChainID = "d"
	_, err = other.As(ks).Identities(context.Background(), "patient & co")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Codespace != string(identity.Space) || e.Code != identity.CodeBadQuery {
		t.Fatalf("a query signed for another chain: %v", err)
	}
}

// TestErrorsKeepTheirCode: a node's coded error reaches the caller with its status, space,
// code and message; anything else that is not 2xx (a proxy's HTML page, JSON without a
// code) becomes the API's internal code with the status and body in the message.
func TestErrorsKeepTheirCode(t *testing.T) {
	var status int
	var body string
	c := InProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	coded, _ := json.Marshal(wire.TxError{Error: tx.Error{Codespace: "consent", Code: 9, Message: "denied: no consent"}, Hash: "ab"})
	for _, x := range []struct {
		name   string
		status int
		body   string
		space  string
		code   uint32
		msg    string
	}{
		{"a coded error", 403, string(coded), "consent", 9, "denied: no consent"},
		{"a proxy's page", 502, "<html>Bad Gateway</html>\n", string(wire.Space), wire.CodeInternal, "HTTP 502: <html>Bad Gateway</html>"},
		{"JSON without a code", 500, `{"error":"boom"}`, string(wire.Space), wire.CodeInternal, `HTTP 500: {"error":"boom"}`},
		{"an empty body", 503, "", string(wire.Space), wire.CodeInternal, "HTTP 503: "},
	} {
		status, body = x.status, x.body
		_, err := c.Tx(context.Background(), "ab")
		var e *Error
		if !errors.As(err, &e) || e.Status != x.status || e.Codespace != x.space || e.Code != x.code || e.Message != x.msg {
			t.Errorf("%s: got %#v", x.name, err)
		}
	}
	// A redirect is not a success either.
	status, body = 307, ""
	if _, err := c.Tx(context.Background(), "ab"); err == nil {
		t.Error("a 3xx answer was taken for a result")
	}
	// A 2xx answer that is not the expected JSON is an error, not a zero value.
	status, body = 200, "not json"
	if _, err := c.Tx(context.Background(), "ab"); err == nil {
		t.Error("a malformed 200 answer decoded")
	}
}

// TestSequenceOfUnregistered: an identity the node does not know starts at sequence 0; any
// other failure is an error, never a guessed 0.
func TestSequenceOfUnregistered(t *testing.T) {
	var status int
	c := InProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		if status == 200 {
			json.NewEncoder(w).Encode(wire.IdentityResponse{NextSequence: 5})
		}
	}))
	for _, x := range []struct {
		status int
		want   uint64
		err    bool
	}{{200, 5, false}, {404, 0, false}, {500, 0, true}, {401, 0, true}} {
		status = x.status
		got, err := c.Sequence(context.Background(), "a")
		if got != x.want || (err != nil) != x.err {
			t.Errorf("HTTP %d: sequence %d, error %v", x.status, got, err)
		}
	}
}

// TestNewNormalisesTheBase: a bare host:port is http, trailing slashes go, a scheme stays.
func TestNewNormalisesTheBase(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":        "http://127.0.0.1:8080",
		"127.0.0.1:8080/":       "http://127.0.0.1:8080",
		"https://node.example/": "https://node.example",
		"http://h:1//":          "http://h:1",
	} {
		if got := New(in).Base; got != want {
			t.Errorf("New(%q).Base = %q, want %q", in, got, want)
		}
	}
	if !strings.HasPrefix(InProcess(http.NotFoundHandler()).Base, "http://") {
		t.Error("the in-process base does not parse as a URL")
	}
}
