package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/node"
)

// TestIdleConnectionFloodDoesNotHaltTheChain holds 20,000 keep-alive connections to a node
// from thousands of client addresses, as the attack that once exhausted the node's file
// descriptors and made CometBFT fail consensus did. The node must keep committing blocks,
// serve a real request, and keep its descriptors below its limit.
func TestIdleConnectionFloodDoesNotHaltTheChain(t *testing.T) {
	own, err := netlimit.RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	// This process holds the attacker's side of every kept connection: give the node a cap
	// this process can match (the default where the limit allows it).
	maxConns := min(node.DefaultMaxConns, int(own-1024)/2)
	home := initHome(t)
	setConfig(t, home, "max_conns", maxConns)
	p := startProc(t, home)
	cl := client.New(p.api)
	st, err := cl.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h0 := st.Height

	const attempts, workers, perAddr = 20_000, 32, 4
	var next, served, refused, evicted atomic.Int64
	var wg sync.WaitGroup
	var held sync.Map // net.Conn -> struct{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []net.Conn
			for {
				i := next.Add(1) - 1
				if i >= attempts {
					break
				}
				a := int(i / perAddr)
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 1, byte(a/250), byte(a%250+1))}}
				c, err := d.Dial("tcp", p.api)
				if err != nil {
					t.Errorf("dial %d: %v", i, err)
					return
				}
				if keptAlive(c) {
					served.Add(1)
					mine = append(mine, c)
					held.Store(c, struct{}{})
				} else {
					refused.Add(1)
					c.Close()
				}
				if len(mine)%64 == 0 { // drop what the node closed to make room, as an attacker would
					mine = reap(mine, &held, &evicted)
				}
			}
		}()
	}
	wg.Wait()
	defer held.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	t.Logf("%d attempts: %d served and kept alive (%d of them since closed by the node to make room), %d refused; cap %d",
		attempts, served.Load(), evicted.Load(), refused.Load(), maxConns)
	if served.Load()+refused.Load() != attempts {
		t.Fatalf("only %d of %d attempts got an answer", served.Load()+refused.Load(), attempts)
	}
	if evicted.Load()+refused.Load() == 0 {
		t.Fatalf("the flood never reached the node's cap of %d connections", maxConns)
	}

	// With the attacker's connections still open: the node is alive, serves a new client, and
	// commits blocks.
	select {
	case err := <-p.exited:
		t.Fatalf("the node exited under the flood: %v\n%s", err, p.out)
	default:
	}
	deadline := time.Now().Add(30 * time.Second)
	var h1 int64
	for h1 <= h0+1 {
		st, err := cl.Status(context.Background())
		if err == nil {
			h1 = st.Height
		} else if time.Now().After(deadline) {
			t.Fatalf("a real request is not served under the flood: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no blocks committed under the flood: height %d, was %d\n%s", h1, h0, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	open, limit := openFiles(t, p.cmd.Process.Pid)
	t.Logf("node: %d open files of its limit %d; height %d -> %d", open, limit, h0, h1)
	if open > limit-netlimit.Headroom/2 {
		t.Errorf("the node holds %d open files, within %d of its limit %d", open, limit-open, limit)
	}
	if strings.Contains(p.out.String(), "too many open files") || strings.Contains(p.out.String(), "CONSENSUS FAILURE") {
		t.Errorf("the node ran out of descriptors:\n%s", p.out)
	}
}

// keptAlive sends one keep-alive request on c and reports whether it was served (200)
// rather than refused (the listener answers 429 or 503 and closes).
func keptAlive(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && !resp.Close
}

// reap closes and drops the connections the peer has closed.
func reap(cs []net.Conn, held *sync.Map, evicted *atomic.Int64) []net.Conn {
	kept := cs[:0]
	var b [1]byte
	for _, c := range cs {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(b[:])
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kept = append(kept, c)
			continue
		}
		evicted.Add(1)
		held.Delete(c)
		c.Close()
	}
	return kept
}

// openFiles is a process's open descriptors and its limit on them, from /proc.
func openFiles(t *testing.T, pid int) (open, limit int) {
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "Max open files") && len(f) >= 4 {
			limit, _ = strconv.Atoi(f[3])
		}
	}
	return len(fds), limit
}

// setConfig sets one field of a home's config/ehrchain.json.
func setConfig(t *testing.T, home, key string, v any) {
	path := filepath.Join(home, "config", "ehrchain.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	b, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
