package nodetest

import (
	"net"
	"sync"
	"testing"
)

var (
	portsMu sync.Mutex
	handed  = map[int]bool{}
)

// FreePort returns a loopback port that was free a moment ago and that this test process
// has not handed out before. The kernel may give the same ephemeral port to two successive
// probes once the first is closed, so without the record one test could lay out two
// nodes' listeners on the same port (seen: a node's API and another's p2p address).
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handed[p] {
			handed[p] = true
			return p
		}
	}
	t.Fatal("no loopback port that was not handed out already")
	return 0
}
