package netlimit

import (
	"container/list"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config caps the connections a Listener holds.
type Config struct {
	MaxConns     int // open connections in total; must be positive
	MaxPerClient int // open connections from one client address; must be positive
	// Body, if set, gives the content type and body of a refusal with this HTTP status
	// (429 or 503); otherwise a one-line text is sent.
	Body func(status int) (contentType string, body []byte)
}

// maxRejecting bounds the refusals being written at once. Each holds a descriptor for at
// most rejectWait; beyond this many, a refused connection is closed without an answer.
const maxRejecting = 64

// rejectWait is how long a refused connection is kept so its answer reaches the client
// before the close (closing with unread request bytes would reset it and lose the answer).
const rejectWait = 500 * time.Millisecond

// Listener is a net.Listener that enforces a Config. Pass its ConnState to the
// http.Server that serves it, so that it knows which connections are idle.
type Listener struct {
	net.Listener
	cfg       Config
	rejecting chan struct{}

	mu       sync.Mutex
	total    int
	perIP    map[string]int
	idle     list.List // *Conn that may be closed to make room, longest idle first
	refused  [2]uint64 // 429, 503
	evicted  uint64
	accepted uint64
}

// New wraps l.
func New(l net.Listener, cfg Config) (*Listener, error) {
	if cfg.MaxConns <= 0 || cfg.MaxPerClient <= 0 {
		return nil, fmt.Errorf("connection caps must be positive (total %d, per client %d)", cfg.MaxConns, cfg.MaxPerClient)
	}
	return &Listener{Listener: l, cfg: cfg, rejecting: make(chan struct{}, maxRejecting), perIP: map[string]int{}}, nil
}

// Conn is an accepted connection; closing it frees its place.
type Conn struct {
	net.Conn
	l        *Listener
	ip       string
	elem     *list.Element // in l.idle while evictable
	released bool
}

// Accept returns the next connection within the caps. Connections over a cap are answered
// and closed here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		l.mu.Lock()
		if l.perIP[ip] >= l.cfg.MaxPerClient {
			l.refused[0]++
			l.mu.Unlock()
			l.reject(c, http.StatusTooManyRequests)
			continue
		}
		var victim *Conn
		if l.total >= l.cfg.MaxConns {
			front := l.idle.Front()
			if front == nil {
				l.refused[1]++
				l.mu.Unlock()
				l.reject(c, http.StatusServiceUnavailable)
				continue
			}
			victim = front.Value.(*Conn)
			l.releaseLocked(victim)
			l.evicted++
		}
		nc := &Conn{Conn: c, l: l, ip: ip}
		l.total++
		l.perIP[ip]++
		l.accepted++
		nc.elem = l.idle.PushBack(nc) // opened and not yet used: evictable
		l.mu.Unlock()
		if victim != nil {
			victim.Conn.Close()
		}
		return nc, nil
	}
}

// releaseLocked gives c's place back; l.mu is held.
func (l *Listener) releaseLocked(c *Conn) {
	if c.released {
		return
	}
	c.released = true
	if c.elem != nil {
		l.idle.Remove(c.elem)
		c.elem = nil
	}
	l.total--
	if l.perIP[c.ip]--; l.perIP[c.ip] <= 0 {
		delete(l.perIP, c.ip)
	}
}

// Close closes the connection and frees its place.
func (c *Conn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// ConnState is the http.Server hook that marks connections busy or idle: only idle ones
// (between requests, or before the first) are closed to make room.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok { // TLS
		nc = u.NetConn()
	}
	c, ok := nc.(*Conn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.released {
		return
	}
	switch s {
	case http.StateNew, http.StateIdle:
		if c.elem == nil {
			c.elem = l.idle.PushBack(c)
		} else if s == http.StateIdle {
			l.idle.MoveToBack(c.elem)
		}
	default:
		if c.elem != nil {
			l.idle.Remove(c.elem)
			c.elem = nil
		}
	}
}

// Stats are the listener's counters.
type Stats struct {
	Open, Accepted     int
	RefusedPerClient   uint64 // answered 429
	RefusedTotal       uint64 // answered 503
	EvictedIdle        uint64 // idle connections closed to make room
	Clients, IdleConns int
}

// Stats reports the current counts.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.total, Accepted: int(l.accepted), RefusedPerClient: l.refused[0], RefusedTotal: l.refused[1],
		EvictedIdle: l.evicted, Clients: len(l.perIP), IdleConns: l.idle.Len()}
}

// reject answers c with status and closes it, without blocking Accept.
func (l *Listener) reject(c net.Conn, status int) {
	select {
	case l.rejecting <- struct{}{}:
	default:
		c.Close() // too many refusals in flight: no answer
		return
	}
	go func() {
		defer func() { <-l.rejecting }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(rejectWait))
		ct, body := "text/plain; charset=utf-8", []byte(http.StatusText(status)+": too many connections\n")
		if l.cfg.Body != nil {
			ct, body = l.cfg.Body(status)
		}
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
			status, http.StatusText(status), ct, len(body))
		c.Write(body)
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10)) // until the client closes or the deadline
	}()
}

// clientIP is the address a connection counts against.
func clientIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
