package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// committedNode starts a node and commits one block (a registration), so that
// verification has committed state to prove against.
func committedNode(t *testing.T) (*nodetest.Running, context.Context) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	newPartner(t, ctx, r.Client, reg, identity.Manufacturer, "Acme Pharma")
	return r, ctx
}

const verifyPath = "/epcis/verify?code=" + "%2801%2904012345123456%2821%291"

// TestVerifyRateLimit: the public verification answers each client address a burst of
// its per-minute allowance and then 429 with Retry-After, however the client dresses the
// request: another source port, forwarding headers naming someone else, a malformed code,
// another address in the same IPv6 /64. Other clients are unaffected, the allowance
// comes back at the stated time and not before, and the portal's in-process calls are
// limited as the browser they act for.
func TestVerifyRateLimit(t *testing.T) {
	r, ctx := committedNode(t)
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if err := r.Server.LimitVerify(3, clock.Now); err != nil {
		t.Fatal(err)
	}
	get := func(remote, path string, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		r.Server.ServeHTTP(rec, req)
		return rec
	}
	ok := func(what string, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s, want 200", what, rec.Code, rec.Body)
		}
	}
	refused := func(what string, rec *httptest.ResponseRecorder, retry string) {
		t.Helper()
		var e tx.Error
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != retry || e.Codespace != "api" || e.Code != api.CodeBusy ||
			!strings.Contains(e.Message, "3 codes a minute") {
			t.Fatalf("%s: HTTP %d Retry-After %q %s, want 429 Retry-After %s api/%d", what, rec.Code, rec.Header().Get("Retry-After"), rec.Body, retry, api.CodeBusy)
		}
	}

	for i := range 3 {
		ok("verification within the burst", get("203.0.113.7:4000"+string(rune('0'+i)), verifyPath))
	}
	// A minute's allowance of 3 refills one every 20 s.
	refused("a fourth at once", get("203.0.113.7:4000", verifyPath), "20")
	refused("from another source port", get("203.0.113.7:61234", verifyPath), "20")
	refused("claiming to be forwarded for another client", get("203.0.113.7:4000", verifyPath,
		"X-Forwarded-For", "198.51.100.9", "X-Real-IP", "198.51.100.9", "Forwarded", "for=198.51.100.9"), "20")
	refused("with a malformed code", get("203.0.113.7:4000", "/epcis/verify?code=nonsense"), "20")
	ok("another client", get("198.51.100.9:4000", verifyPath))

	for i := range 3 {
		ok("an IPv6 client within the burst", get("[2001:db8:5::"+string(rune('1'+i))+"]:443", verifyPath))
	}
	refused("another address of the same IPv6 /64", get("[2001:db8:5::ffff]:443", verifyPath), "20")
	ok("an address of another /64", get("[2001:db8:6::1]:443", verifyPath))

	clock.Add(19 * time.Second)
	refused("a second early", get("203.0.113.7:4000", verifyPath), "1")
	clock.Add(time.Second)
	ok("once a request's share of the minute has passed", get("203.0.113.7:4000", verifyPath))
	refused("and only one", get("203.0.113.7:4000", verifyPath), "20")

	// The portal calls the API in-process for a browser: limited as that browser's
	// address. The node's own in-process calls (a signed-in patient's recall check) carry
	// no address and are not limited here.
	in := client.InProcess(r.Server)
	code := "(01)04012345123456(21)1"
	_, err := in.VerifyCode(netlimit.ForClient(ctx, "203.0.113.7:50000"), code)
	clientErr(t, "the portal acting for the limited browser", err, http.StatusTooManyRequests, "api", api.CodeBusy)
	if _, err := in.VerifyCode(netlimit.ForClient(ctx, "192.0.2.1:50000"), code); err != nil {
		t.Fatalf("the portal acting for another browser: %v", err)
	}
	for range 5 {
		if _, err := in.VerifyCode(ctx, code); err != nil {
			t.Fatalf("an in-process call acting for no browser: %v", err)
		}
	}

	// Over a real connection from 127.0.0.1 the same: the Go client sees the 429 and
	// the raw response carries Retry-After.
	for range 3 {
		if _, err := r.Client.VerifyCode(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	_, err = r.Client.VerifyCode(ctx, code)
	clientErr(t, "a fourth over HTTP", err, http.StatusTooManyRequests, "api", api.CodeBusy)
	resp, err := http.Get(r.Client.Base + "/epcis/verify?" + url.Values{"code": {code}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "20" {
		t.Fatalf("over HTTP: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestVerifyLimitSettings: zero takes the default allowance, counted out in a burst; a
// negative value turns the limit off.
func TestVerifyLimitSettings(t *testing.T) {
	r, _ := committedNode(t)
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if err := r.Server.LimitVerify(0, clock.Now); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		req := httptest.NewRequest("GET", verifyPath, nil)
		req.RemoteAddr = "203.0.113.8:1"
		rec := httptest.NewRecorder()
		r.Server.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range api.DefaultVerifyPerMinute {
		if c := get(); c != http.StatusOK {
			t.Fatalf("verification %d of the default %d: HTTP %d", i+1, api.DefaultVerifyPerMinute, c)
		}
	}
	if c := get(); c != http.StatusTooManyRequests {
		t.Fatalf("past the default allowance: HTTP %d", c)
	}
	if err := r.Server.LimitVerify(-1, clock.Now); err != nil {
		t.Fatal(err)
	}
	for range 2 * api.DefaultVerifyPerMinute {
		if c := get(); c != http.StatusOK {
			t.Fatalf("with the limit off: HTTP %d", c)
		}
	}
}
