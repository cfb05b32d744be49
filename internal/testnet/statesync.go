package testnet

import (
	"context"
	"errors"
	"fmt"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ehrchain/ehrchain/internal/node"
)

// SnapshotInterval is how many blocks apart testnet nodes write state-sync snapshots: a
// testnet makes about a block a second when idle, so a joiner finds one within minutes.
const SnapshotInterval = 50

// EnableStateSync configures node i (laid out by AddNode, not started yet) to come up from
// a snapshot: its light client trusts the latest block of the first running node that
// answers, and checks it against every other node's RPC.
func EnableStateSync(ctx context.Context, dir string, i int) (*node.StateSync, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(m.Nodes) {
		return nil, fmt.Errorf("no node %d in the testnet", i)
	}
	ss := &node.StateSync{Enable: true}
	var errs []error
	for j, o := range m.Nodes {
		if j == i || o.RPC == "" {
			continue
		}
		ss.RPCServers = append(ss.RPCServers, o.RPC)
		if ss.TrustHeight > 0 {
			continue
		}
		h, hash, err := latestBlock(ctx, o.RPC)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Name, err))
			continue
		}
		ss.TrustHeight, ss.TrustHash = h, hash
	}
	if ss.TrustHeight == 0 {
		return nil, fmt.Errorf("state sync needs a running node to take the trusted block from: %w", errors.Join(errs...))
	}
	p := node.Paths{Home: m.HomeOf(dir, i)}
	c, err := node.LoadConfig(p.Home)
	if err != nil {
		return nil, err
	}
	c.StateSync = ss
	return ss, c.Save(p.Config())
}

// latestBlock is the height and hash of a node's latest block, read over its RPC.
func latestBlock(ctx context.Context, rpc string) (int64, string, error) {
	c, err := rpchttp.New("tcp://"+rpc, "/websocket")
	if err != nil {
		return 0, "", err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return 0, "", err
	}
	h := st.SyncInfo.LatestBlockHeight
	if h == 0 {
		return 0, "", errors.New("it has no blocks yet")
	}
	b, err := c.Block(ctx, &h)
	if err != nil {
		return 0, "", err
	}
	return h, b.BlockID.Hash.String(), nil
}
