package node_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// lockedBuffer is a log writer the node's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCleanStopLogsNoError: an error line in the log must mean something went wrong, so the
// errors CometBFT logs while it shuts down (its accept routine and pools stopping) are not
// written once Stop began.
func TestCleanStopLogsNoError(t *testing.T) {
	home, _ := nodetest.Init(t)
	var log lockedBuffer
	n, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", LogLevel: "error"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(line, "E[") {
			t.Errorf("a clean stop logged an error: %s", line)
		}
	}
}
