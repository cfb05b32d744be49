package node

import (
	"io"
	"testing"
)

// TestConsensusFailureStopsTheNode: CometBFT only logs a failed consensus routine; the
// node's logger turns that line (from any sub-logger) into a fatal error, and nothing else.
func TestConsensusFailureStopsTheNode(t *testing.T) {
	n := &Node{fatal: make(chan error, 1), Config: Config{LogLevel: "error"}, logw: io.Discard}
	l := n.cmtLogger().With("module", "consensus")
	l.Error("Stopping peer for error", "err", "EOF")
	select {
	case err := <-n.Fatal():
		t.Fatalf("an ordinary error stopped the node: %v", err)
	default:
	}
	l.Error("CONSENSUS FAILURE!!!", "err", "wrong Block.Header.AppHash")
	select {
	case err := <-n.Fatal():
		if err == nil {
			t.Fatal("nil error")
		}
	default:
		t.Fatal("a consensus failure did not stop the node")
	}
}
