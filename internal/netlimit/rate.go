package netlimit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Rate limits how often each client may call an endpoint: a bucket of Burst requests per
// client, refilled evenly over Per (the generic cell rate algorithm: one time per client,
// the moment its bucket is full again). It serves endpoints that are open to anyone and
// cost the node a proof, such as the public verification of a drug pack.
type Rate struct {
	every time.Duration // one request's share of Per
	burst time.Duration // every × (Burst - 1): how far ahead a client may run
	now   func() time.Time

	mu   sync.Mutex
	full map[string]time.Time // client -> when its bucket is full again
}

// maxClients bounds the clients a Rate remembers. Over it, clients whose buckets are
// full are forgotten; if all are still draining, newcomers share one bucket, so that
// many addresses cannot grow the map without bound (they are limited together instead).
const maxClients = 100_000

// overflow is the shared bucket of clients over maxClients.
const overflow = "(overflow)"

// NewRate allows each client burst requests at once and burst per per after that; now is
// the clock (nil: time.Now), which tests drive.
func NewRate(burst int, per time.Duration, now func() time.Time) (*Rate, error) {
	if burst <= 0 || per <= 0 {
		return nil, fmt.Errorf("a rate limit needs a positive number of requests (%d) per positive period (%s)", burst, per)
	}
	if now == nil {
		now = time.Now
	}
	every := per / time.Duration(burst)
	return &Rate{every: every, burst: every * time.Duration(burst-1), now: now, full: map[string]time.Time{}}, nil
}

// Allow takes one request from client's bucket. When it is empty the answer is false and
// how long until the next request would be allowed.
func (r *Rate) Allow(client string) (bool, time.Duration) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	at, known := r.full[client]
	if !known && len(r.full) >= maxClients {
		r.sweep(now)
		if len(r.full) >= maxClients {
			client = overflow
			at = r.full[client]
		}
	}
	if at.Before(now) {
		at = now
	}
	if wait := at.Sub(now) - r.burst; wait > 0 {
		return false, wait
	}
	r.full[client] = at.Add(r.every)
	return true, 0
}

// sweep forgets the clients whose buckets are full by now.
func (r *Rate) sweep(now time.Time) {
	for c, at := range r.full {
		if !at.After(now) {
			delete(r.full, c)
		}
	}
}

// clientKey is the context key of the client an in-process request acts for.
type clientKey struct{}

// ForClient marks ctx as acting for the remote client whose request arrived with
// remoteAddr: a component that calls the API in-process for a browser (the portal)
// passes it on, so that the browser is limited as if it had called the API itself. Only
// code in the process can set it; no header a client sends is trusted for it.
func ForClient(ctx context.Context, remoteAddr string) context.Context {
	return context.WithValue(ctx, clientKey{}, remoteAddr)
}

// Client is the client a request is limited as: the address an in-process caller passed
// on (ForClient), else the request's own remote address. IPv4 addresses count singly and
// IPv6 addresses by their /64, the block one host is usually given. ok is false for a
// request that carries neither (an in-process call of the node's own components).
func Client(r *http.Request) (client string, ok bool) {
	addr := r.RemoteAddr
	if a, set := r.Context().Value(clientKey{}).(string); set {
		addr = a
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "", false
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String(), true
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String(), true
}

// RetryAfter is the Retry-After header value for a wait: whole seconds, at least one.
func RetryAfter(wait time.Duration) string {
	s := (wait + time.Second - 1) / time.Second
	return fmt.Sprint(max(int64(s), 1))
}
