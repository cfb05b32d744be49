package netlimit_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/netlimit"
)

// serve runs an http.Server on a limited listener on loopback. The handler answers "ok",
// or waits for release when the path is /block.
func serve(t *testing.T, cfg netlimit.Config, to netlimit.Timeouts, release <-chan struct{}) (string, *netlimit.Listener) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := netlimit.New(raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ConnState: l.ConnState, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		io.WriteString(w, "ok")
	})}
	to.Apply(srv)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return raw.Addr().String(), l
}

// dialFrom connects from a chosen loopback address (the whole 127/8 is local), so one
// test plays several clients.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a keep-alive request on c and returns the response status; the body is read.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// refusal reads the answer to a connection the listener refused, without sending anything.
func refusal(t *testing.T, c net.Conn) (int, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("expected an immediate refusal, got %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Connection") != "close" && !resp.Close {
		t.Errorf("refusal does not close the connection")
	}
	return resp.StatusCode, string(b)
}

// waitClosed waits until the server closes c (read returns EOF or reset).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

func TestPerClientCapAnswers429AndOthersProceed(t *testing.T) {
	addr, l := serve(t, netlimit.Config{MaxConns: 100, MaxPerClient: 2}, netlimit.Timeouts{}, nil)
	a1, a2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	for _, c := range []net.Conn{a1, a2} {
		if s := get(t, c, bufio.NewReader(c), "/"); s != 200 {
			t.Fatalf("within the cap: status %d", s)
		}
	}
	status, body := refusal(t, dialFrom(t, "127.0.0.2", addr))
	if status != http.StatusTooManyRequests || !strings.Contains(body, "too many") {
		t.Fatalf("third connection from one client: %d %q, want 429", status, body)
	}
	other := dialFrom(t, "127.0.0.3", addr)
	if s := get(t, other, bufio.NewReader(other), "/"); s != 200 {
		t.Fatalf("another client: status %d", s)
	}
	// A closed connection gives its place back.
	a1.Close()
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Open != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("closed connection still counted: %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	again := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, again, bufio.NewReader(again), "/"); s != 200 {
		t.Fatalf("after a close: status %d", s)
	}
	if st := l.Stats(); st.RefusedPerClient != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTotalCapAnswers503WhenEveryConnectionIsBusy(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr, l := serve(t, netlimit.Config{MaxConns: 2, MaxPerClient: 10, Body: func(int) (string, []byte) {
		return "application/json", []byte(`{"message":"busy"}`)
	}}, netlimit.Timeouts{}, release)
	for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
		c := dialFrom(t, from, addr)
		io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().IdleConns != 0 || l.Stats().Open != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("requests did not become active: %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	status, body := refusal(t, dialFrom(t, "127.0.0.4", addr))
	if status != http.StatusServiceUnavailable || body != `{"message":"busy"}` {
		t.Fatalf("over the total with every connection busy: %d %q, want 503 with the given body", status, body)
	}
	if st := l.Stats(); st.RefusedTotal != 1 || st.EvictedIdle != 0 || st.Open != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIdleConnectionsMakeRoomForANewClient(t *testing.T) {
	addr, l := serve(t, netlimit.Config{MaxConns: 2, MaxPerClient: 10}, netlimit.Timeouts{}, nil)
	first := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, first, bufio.NewReader(first), "/"); s != 200 {
		t.Fatal(s)
	}
	second := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, second, bufio.NewReader(second), "/"); s != 200 {
		t.Fatal(s)
	}
	// Both idle on keep-alive: a newcomer is served and the longest idle one is closed.
	c := dialFrom(t, "127.0.0.3", addr)
	if s := get(t, c, bufio.NewReader(c), "/"); s != 200 {
		t.Fatalf("newcomer while the cap is held by idle connections: %d", s)
	}
	waitClosed(t, first)
	if st := l.Stats(); st.EvictedIdle != 1 || st.Open != 2 || st.RefusedTotal != 0 {
		t.Fatalf("stats %+v", st)
	}
	br := bufio.NewReader(second)
	if s := get(t, second, br, "/"); s != 200 {
		t.Fatalf("the more recently used connection was closed: %d", s)
	}
}

func TestIdleTimeoutClosesKeepAliveConnection(t *testing.T) {
	addr, l := serve(t, netlimit.Config{MaxConns: 10, MaxPerClient: 10}, netlimit.Timeouts{Header: time.Minute, Idle: 20 * time.Millisecond}, nil)
	c := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, c, bufio.NewReader(c), "/"); s != 200 {
		t.Fatal(s)
	}
	waitClosed(t, c)
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Open != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("closed idle connection still counted: %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHeaderTimeoutClosesSilentConnection(t *testing.T) {
	addr, _ := serve(t, netlimit.Config{MaxConns: 10, MaxPerClient: 10}, netlimit.Timeouts{Header: 20 * time.Millisecond, Idle: time.Minute}, nil)
	c := dialFrom(t, "127.0.0.2", addr)
	io.WriteString(c, "GET / HTTP/1.1\r\n") // and never the rest
	waitClosed(t, c)
}

func TestNewRefusesZeroCaps(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := netlimit.New(raw, netlimit.Config{MaxConns: 0, MaxPerClient: 1}); err == nil {
		t.Fatal("a zero total cap was accepted")
	}
	if _, err := netlimit.New(raw, netlimit.Config{MaxConns: 1, MaxPerClient: 0}); err == nil {
		t.Fatal("a zero per-client cap was accepted")
	}
}
