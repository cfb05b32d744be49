package netlimit

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRateForgetsNoOneDraining: a flood of addresses cannot grow the limiter past
// maxClients, nor get a fresh allowance each: over the bound, newcomers share one bucket
// until the remembered clients' buckets are full again and are forgotten.
func TestRateForgetsNoOneDraining(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r, err := NewRate(2, time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxClients {
		if ok, _ := r.Allow(fmt.Sprint("c", i)); !ok {
			t.Fatalf("client %d refused its first request", i)
		}
	}
	for i := range 2 { // the shared bucket's burst
		if ok, _ := r.Allow(fmt.Sprint("new", i)); !ok {
			t.Fatalf("newcomer %d refused within the shared burst", i)
		}
	}
	if ok, wait := r.Allow("yet-another"); ok || wait != 30*time.Second {
		t.Fatalf("a third newcomer: allowed %v, wait %s; want refused for 30 s", ok, wait)
	}
	if len(r.full) > maxClients+1 {
		t.Fatalf("%d clients remembered", len(r.full))
	}
	// The clients' buckets are full again after 30 s and forgotten at the next newcomer;
	// the shared one, drained twice, still drains.
	now = now.Add(31 * time.Second)
	if ok, _ := r.Allow("later"); !ok || len(r.full) != 2 {
		t.Fatalf("after the buckets refilled: allowed %v, %d remembered", ok, len(r.full))
	}
}

func TestClientKey(t *testing.T) {
	for _, c := range []struct {
		remote, forClient, want string
		ok                      bool
	}{
		{"203.0.113.7:4000", "", "203.0.113.7", true},
		{"[::ffff:203.0.113.7]:1", "", "203.0.113.7", true},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64", true},
		{"in-process:0", "", "", false},
		{"in-process:0", "198.51.100.2:9", "198.51.100.2", true},
		{"203.0.113.7:4000", "198.51.100.2:9", "198.51.100.2", true},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.remote
		if c.forClient != "" {
			req = req.WithContext(ForClient(context.Background(), c.forClient))
		}
		got, ok := Client(req)
		if got != c.want || ok != c.ok {
			t.Errorf("Client(%s, for %q) = %q, %v; want %q, %v", c.remote, c.forClient, got, ok, c.want, c.ok)
		}
	}
	if _, err := NewRate(0, time.Minute, nil); err == nil {
		t.Error("a limit of 0 requests was accepted")
	}
	if got := RetryAfter(1500 * time.Millisecond); got != "2" {
		t.Errorf("RetryAfter(1.5 s) = %s", got)
	}
	if got := RetryAfter(time.Millisecond); got != "1" {
		t.Errorf("RetryAfter(1 ms) = %s", got)
	}
}
