package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ehrchain/ehrchain/internal/blobs"
)

// Config is the node's own configuration, stored in config/ehrchain.json.
type Config struct {
	ChainID  string `json:"chain_id"`
	Moniker  string `json:"moniker"`
	API      string `json:"api"`       // HTTP API listen address
	RPC      string `json:"rpc"`       // CometBFT RPC listen address; empty disables it
	P2P      string `json:"p2p"`       // CometBFT p2p listen address
	Peers    string `json:"peers"`     // persistent peers, id@host:port,...
	TLSCert  string `json:"tls_cert"`  // PEM certificate for the API; with TLSKey enables HTTPS
	TLSKey   string `json:"tls_key"`   // PEM private key
	BlockMS  int    `json:"block_ms"`  // pause after a commit before the next block, in ms
	Mempool  int    `json:"mempool"`   // transactions the mempool holds (caps a block)
	LogLevel string `json:"log_level"` // "info" (one line per block), "error", "debug"
	// BlobSources are the API base URLs of peers this node fetches missing blobs from.
	BlobSources []string `json:"blob_sources,omitempty"`
	// BlobPeerIDs are node ids, besides those in Peers, this node serves blobs to. Read from
	// the file on every fetch, so adding a node takes effect without a restart.
	BlobPeerIDs []string `json:"blob_peer_ids,omitempty"`
	// BlobOrphanGrace is how long an uploaded blob that no committed record references is
	// kept before the sweep deletes it, as a Go duration ("1h" when empty). It must cover the
	// time between a client's upload and its record's commit.
	BlobOrphanGrace string `json:"blob_orphan_grace,omitempty"`
	// BlobQuotaBytes caps the bytes of such blobs one identity may hold (1 GiB when 0).
	BlobQuotaBytes int64 `json:"blob_quota_bytes,omitempty"`
	// MaxConns caps the HTTP connections (API, FHIR, portal) open at once, and
	// MaxConnsPerClient those from one client address. The total is lowered at start if the
	// open-files limit would not leave room for consensus and the databases.
	MaxConns          int `json:"max_conns"`
	MaxConnsPerClient int `json:"max_conns_per_client"`
	// SnapshotInterval is how many blocks apart this node writes a state-sync snapshot for
	// joining nodes (0: none), and SnapshotKeep how many it keeps (statesync.go).
	SnapshotInterval int64 `json:"snapshot_interval"`
	SnapshotKeep     int   `json:"snapshot_keep"`
	// Pruning, when set, deletes old blocks and state map versions (pruning.go).
	Pruning *PruningConfig `json:"pruning,omitempty"`
	// EPCISSchema is the path of GS1's EPCIS 2.0 JSON Schema, against which the API
	// validates captured EPCIS documents; without it the node refuses captures.
	EPCISSchema string `json:"epcis_schema,omitempty"`
	// VerifyPerMinute is how many public pack verifications (GET /epcis/verify, also behind
	// the portal's verification page) one client address may ask a minute; 0 takes the
	// API's default, a negative value turns the limit off (behind a proxy that limits).
	VerifyPerMinute int `json:"verify_per_minute,omitempty"`
	// FullMesh says every validator is a peer of this node (as `testnet init` lays a network
	// out): the node then sends its peers only the transactions its clients submitted and
	// relays none it received from a peer, since each peer had those from their source
	// (txgossip.go). On a partial mesh a validator would see a transaction only once it is
	// in a block, so leave it off there.
	FullMesh bool `json:"full_mesh,omitempty"`
	// StateSync, when enabled, brings an empty node up from a peer's snapshot.
	StateSync *StateSync `json:"state_sync,omitempty"`
}

// blobPolicy is the orphan-blob policy the configuration asks for.
func (c Config) blobPolicy() (blobs.Policy, error) {
	p := blobs.Policy{Grace: blobs.DefaultGrace, Quota: blobs.DefaultQuota}
	if c.BlobOrphanGrace != "" {
		g, err := time.ParseDuration(c.BlobOrphanGrace)
		if err != nil || g <= 0 {
			return p, fmt.Errorf("blob_orphan_grace %q must be a positive duration such as \"1h\"", c.BlobOrphanGrace)
		}
		p.Grace = g
	}
	if c.BlobQuotaBytes < 0 {
		return p, fmt.Errorf("blob_quota_bytes %d must not be negative", c.BlobQuotaBytes)
	}
	if c.BlobQuotaBytes > 0 {
		p.Quota = c.BlobQuotaBytes
	}
	return p, nil
}

// Default addresses are on loopback so a fresh node exposes nothing to the network.
const (
	DefaultAPI     = "127.0.0.1:8080"
	DefaultRPC     = "127.0.0.1:26657" // where --rpc on listens; the RPC is off unless asked for
	DefaultP2P     = "127.0.0.1:26656"
	DefaultChainID = "ehrchain-1"
)

// Default connection caps: enough for a hospital's integrators and portal users, far below
// the descriptors a node has once start raises its open-files limit.
const (
	DefaultMaxConns          = 4096
	DefaultMaxConnsPerClient = 256
)

// DefaultConfig is what init writes. The CometBFT RPC is off: it answers anyone who reaches
// it with every raw transaction and accepts transactions past the API's checks.
func DefaultConfig(chainID string) Config {
	return Config{ChainID: chainID, Moniker: "ehrchain-node", API: DefaultAPI,
		P2P: DefaultP2P, BlockMS: 200, Mempool: 50_000, LogLevel: "info",
		MaxConns: DefaultMaxConns, MaxConnsPerClient: DefaultMaxConnsPerClient,
		SnapshotInterval: DefaultSnapshotInterval, SnapshotKeep: DefaultSnapshotKeep}
}

// Paths of a home directory.
type Paths struct{ Home string }

func (p Paths) Config() string  { return filepath.Join(p.Home, "config", "ehrchain.json") }
func (p Paths) Genesis() string { return filepath.Join(p.Home, "config", "genesis.json") }

// Network is the description of the network of shards the node's chain is one of, when it
// is (internal/shard): its FHIR gateway then routes a patient of another shard there.
func (p Paths) Network() string    { return filepath.Join(p.Home, "config", "network.json") }
func (p Paths) NodeKey() string    { return filepath.Join(p.Home, "config", "node_key.json") }
func (p Paths) PrivValKey() string { return filepath.Join(p.Home, "config", "priv_validator_key.json") }
func (p Paths) PrivValState() string {
	return filepath.Join(p.Home, "data", "priv_validator_state.json")
}
func (p Paths) AppDir() string { return filepath.Join(p.Home, "app") }
func (p Paths) Keys() string   { return filepath.Join(p.Home, "keys") }
func (p Paths) Lock() string   { return filepath.Join(p.Home, "ehrchain.lock") }

// LoadConfig reads config/ehrchain.json.
func LoadConfig(home string) (Config, error) {
	p := Paths{home}
	b, err := os.ReadFile(p.Config())
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("%s is not an ehrchain home (no %s): run `ehrchain init --home %s` first", home, p.Config(), home)
	}
	if err != nil {
		return Config{}, err
	}
	c := DefaultConfig("")
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", p.Config(), err)
	}
	if c.ChainID == "" {
		return Config{}, fmt.Errorf("%s names no chain_id", p.Config())
	}
	return c, nil
}

// Save writes the configuration to path.
func (c Config) Save(path string) error {
	b, _ := json.MarshalIndent(c, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func (c Config) blockDelay() time.Duration { return time.Duration(c.BlockMS) * time.Millisecond }
