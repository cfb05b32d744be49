package bench

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/testnet"
)

// start brings up what the run measures: one node, or with Validators > 1 a network of that
// many validators in this process, peered over loopback, laid out as `ehrchain testnet init`
// does. Transactions go to the first node (one hospital's clients talking to their node);
// CometBFT gossips them to the others, every validator checks and executes every block.
// home is the first node's home, whose size the disk figures report.
func start(dir string, o *Options) (n0 *node.Node, reg *keys.Keystore, home string, stop func() error, err error) {
	if o.Validators <= 1 {
		n, reg, err := startNode(dir, o)
		if err != nil {
			return nil, nil, "", nil, err
		}
		return n, reg, dir, n.Stop, nil
	}
	pass := make([]byte, 24)
	rand.Read(pass)
	m, err := testnet.Init(testnet.Options{Dir: dir, Validators: o.Validators, ChainID: "bench-net",
		Ports: freePorts, BlockMS: o.BlockMS, Passphrase: pass, KDF: keys.TestKDF, LogLevel: "error",
		Params: benchParams(o)})
	if err != nil {
		return nil, nil, "", nil, err
	}
	data, err := keys.Dir{Path: filepath.Join(m.HomeOf(dir, 0), "keys")}.Load(testnet.Registrar)
	if err != nil {
		return nil, nil, "", nil, err
	}
	reg, err = keys.Decrypt(data, pass)
	if err != nil {
		return nil, nil, "", nil, err
	}
	var nodes []*node.Node
	stop = func() error {
		var errs []error
		for _, n := range nodes {
			errs = append(errs, n.Stop())
		}
		return errors.Join(errs...)
	}
	for i := range m.Nodes {
		home := m.HomeOf(dir, i)
		cfg, err := node.LoadConfig(home)
		if err != nil {
			stop()
			return nil, nil, "", nil, err
		}
		if o.Mempool > 0 {
			cfg.Mempool = o.Mempool
			if err := cfg.Save(node.Paths{Home: home}.Config()); err != nil {
				stop()
				return nil, nil, "", nil, err
			}
		}
		o.Mempool = cfg.Mempool
		n, err := node.Start(home, node.Overrides{NoRPC: true, LogLevel: "error"}, io.Discard)
		if err != nil {
			stop()
			return nil, nil, "", nil, fmt.Errorf("start validator %d: %w", i, err)
		}
		nodes = append(nodes, n)
	}
	return nodes[0], reg, m.HomeOf(dir, 0), stop, nil
}

// freePorts gives each node ports the kernel just handed out (APIs are unused in-process).
func freePorts(int) (api, p2p, rpc int) { return freePort(), freePort(), freePort() }

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
