package node

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/ehrchain/ehrchain/internal/snapshot"
)

// StateSync is how a new node gets the state without replaying the chain: from a snapshot
// its peers offer, checked against a header CometBFT's light client verifies from a trusted
// height and hash through the RPC servers. Once the node holds state it is ignored (CometBFT
// state-syncs only an empty node), so it may stay enabled.
type StateSync struct {
	Enable bool `json:"enable"`
	// RPCServers are CometBFT RPC addresses (host:port) of nodes the operator trusts; the
	// first is the light client's primary, the others its witnesses. At least two are
	// needed; a single one is used twice, which gives no second opinion.
	RPCServers []string `json:"rpc_servers"`
	// TrustHeight and TrustHash name a block the operator obtained out of band (from a
	// trusted node operator, or `ehrchain testnet add-node --state-sync`).
	TrustHeight int64  `json:"trust_height"`
	TrustHash   string `json:"trust_hash"`
	// TrustPeriod is how long a trusted header stays usable, as a Go duration ("168h" when
	// empty); it must be shorter than the time a validator's misbehaviour can be punished.
	TrustPeriod string `json:"trust_period,omitempty"`
	// DiscoveryTime is how long the node collects snapshot offers before it picks one, as a
	// Go duration (CometBFT's "15s" when empty; at least "5s"). On a LAN of known peers
	// the minimum is enough; across the internet the default waits for slower peers.
	DiscoveryTime string `json:"discovery_time,omitempty"`
}

// Defaults for snapshots: one every 1,000 blocks (a few minutes at 200 ms blocks), the last
// two kept.
const (
	DefaultSnapshotInterval = 1000
	DefaultSnapshotKeep     = 2
)

// stateSyncConfig maps the node's state sync settings onto CometBFT's.
func (c Config) stateSyncConfig(cc *cmtcfg.StateSyncConfig, home string) error {
	s := c.StateSync
	if s == nil || !s.Enable {
		return nil
	}
	if len(s.RPCServers) == 0 {
		return fmt.Errorf("state_sync.rpc_servers is empty: name the RPC addresses of at least two trusted nodes")
	}
	if s.TrustHeight <= 0 {
		return fmt.Errorf("state_sync.trust_height %d: name a trusted block height", s.TrustHeight)
	}
	if b, err := hex.DecodeString(s.TrustHash); err != nil || len(b) != 32 {
		return fmt.Errorf("state_sync.trust_hash %q: want the 64 hex digits of the block hash at the trust height", s.TrustHash)
	}
	period := 168 * time.Hour
	if s.TrustPeriod != "" {
		p, err := time.ParseDuration(s.TrustPeriod)
		if err != nil || p <= 0 {
			return fmt.Errorf("state_sync.trust_period %q must be a positive duration such as \"168h\"", s.TrustPeriod)
		}
		period = p
	}
	if s.DiscoveryTime != "" {
		d, err := time.ParseDuration(s.DiscoveryTime)
		if err != nil || d < 5*time.Second {
			return fmt.Errorf("state_sync.discovery_time %q must be a duration of at least \"5s\"", s.DiscoveryTime)
		}
		cc.DiscoveryTime = d
	}
	servers := make([]string, 0, len(s.RPCServers)+1)
	for _, a := range s.RPCServers {
		if a = hostPort(strings.TrimSpace(a)); !strings.Contains(a, "://") {
			a = "http://" + a
		}
		servers = append(servers, a)
	}
	if len(servers) == 1 {
		servers = append(servers, servers[0])
	}
	cc.Enable = true
	cc.RPCServers = servers
	cc.TrustHeight = s.TrustHeight
	cc.TrustHash = s.TrustHash
	cc.TrustPeriod = period
	cc.TempDir = filepath.Join(home, "data")
	return nil
}

// serveSnapshots makes the application write and offer snapshots, as configured.
func (n *Node) serveSnapshots() error {
	c := n.Config
	if c.SnapshotInterval <= 0 {
		return nil
	}
	if c.SnapshotKeep < 1 {
		return fmt.Errorf("%s: snapshot_keep %d: keep at least one snapshot (or set snapshot_interval to 0)", n.Paths.Config(), c.SnapshotKeep)
	}
	d, err := snapshot.Open(filepath.Join(n.Paths.AppDir(), "snapshots"), c.SnapshotKeep, 0)
	if err != nil {
		return err
	}
	n.snaps = d
	n.App.ServeSnapshots(d, c.SnapshotInterval)
	return nil
}
