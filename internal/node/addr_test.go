package node_test

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/node"
)

// TestTCPSchemeAddressesAccepted: --rpc tcp://127.0.0.1:26657 and --p2p tcp://... used to
// become "tcp://tcp://..." and stop start with "missing port in address".
func TestTCPSchemeAddressesAccepted(t *testing.T) {
	c := node.DefaultConfig("c")
	node.Apply(&c, node.Overrides{RPC: "tcp://127.0.0.1:26657", P2P: "tcp://127.0.0.1:26656", API: "127.0.0.1:8081"})
	if c.RPC != "127.0.0.1:26657" || c.P2P != "127.0.0.1:26656" || c.API != "127.0.0.1:8081" {
		t.Fatalf("addresses not normalised: rpc %q p2p %q api %q", c.RPC, c.P2P, c.API)
	}
}
