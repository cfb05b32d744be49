package node_test

import (
	"io"
	"testing"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// TestRPCClosedByDefault: the CometBFT RPC hands every raw transaction to anyone and takes
// transactions past the API, so a node serves it only when the operator asks.
func TestRPCClosedByDefault(t *testing.T) {
	home, _ := nodetest.Init(t)
	c, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.RPC != "" {
		t.Fatalf("init wrote rpc %q; want it off", c.RPC)
	}
	n, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", LogLevel: "error"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if got := n.RPCListenForTest(); got != "" {
		t.Fatalf("CometBFT RPC serves on %q with no --rpc", got)
	}
}

// TestRPCOnMeansLoopback: asking for the RPC without an address keeps it on loopback.
func TestRPCOnMeansLoopback(t *testing.T) {
	c := node.DefaultConfig("c")
	node.Apply(&c, node.Overrides{RPC: "on"})
	if c.RPC != node.DefaultRPC {
		t.Fatalf("--rpc on gave %q, want %q", c.RPC, node.DefaultRPC)
	}
	node.Apply(&c, node.Overrides{NoRPC: true})
	if c.RPC != "" {
		t.Fatalf("--no-rpc left %q", c.RPC)
	}
}
