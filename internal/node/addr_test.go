package node_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
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

// TestBothAddressFormsStart: a node starts with its RPC and p2p addresses in either form,
// and CometBFT is told to listen where it was asked.
func TestBothAddressFormsStart(t *testing.T) {
	for _, scheme := range []string{"", "tcp://"} {
		t.Run("scheme="+scheme, func(t *testing.T) {
			home, _ := nodetest.Init(t)
			rpc := fmt.Sprintf("127.0.0.1:%d", nodetest.FreePort(t))
			n, err := node.Start(home, node.Overrides{RPC: scheme + rpc, P2P: scheme + "127.0.0.1:0", LogLevel: "error"}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop()
			if got := n.RPCListenForTest(); got != "tcp://"+rpc {
				t.Fatalf("RPC listens on %q, want tcp://%s", got, rpc)
			}
		})
	}
}

// TestBadAddressRefusedAtStart: an address no listener can take stops start at once, with
// the address and the forms that work, before the node opens its home.
func TestBadAddressRefusedAtStart(t *testing.T) {
	home, _ := nodetest.Init(t)
	for _, c := range []struct {
		o    node.Overrides
		want string
	}{
		{node.Overrides{RPC: "http://127.0.0.1:26657"}, `rpc address "http://127.0.0.1:26657": scheme http:// is not served`},
		{node.Overrides{P2P: "127.0.0.1"}, `p2p address "127.0.0.1": missing port in address`},
		{node.Overrides{API: "127.0.0.1:http-alt"}, `api address "127.0.0.1:http-alt": port "http-alt" is not a number`},
		{node.Overrides{P2P: "tcp://127.0.0.1:99999"}, `p2p address "127.0.0.1:99999": port "99999" is not a number`},
	} {
		n, err := node.Start(home, c.o, io.Discard)
		if err == nil {
			n.Stop()
			t.Fatalf("%+v: started", c.o)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tcp://host:port") {
			t.Errorf("%+v: %v; want it to say %s and the forms that work", c.o, err, c.want)
		}
	}
	// The refusals left the home unlocked and whole: it starts.
	n, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", NoRPC: true, LogLevel: "error"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n.Stop()
}
