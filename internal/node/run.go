package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditindex"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/snapshot"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// p2pRate is the per-peer connection rate limit, in bytes a second.
const p2pRate = 100 << 20

// Overrides are command-line settings that win over config/ehrchain.json. Empty means "use
// the file".
type Overrides struct {
	API, RPC, P2P, Peers string
	TLSCert, TLSKey      string
	LogLevel             string
	NoRPC                bool
}

// Node is a running ehrchain node: CometBFT, the application and its state.
type Node struct {
	Config Config
	Paths  Paths
	App    *app.App

	st      *state.Store
	snaps   *snapshot.Dir // nil: no snapshots written
	blobs   *blobs.Store
	audit   *auditindex.Index // nil if it could not be opened: audit queries then scan the log
	cmt     *nm.Node
	rpc     *local.Local
	release func()
	logw    io.Writer

	stopOnce sync.Once
	stopping atomic.Bool // Stop began: CometBFT's shutdown errors are expected, not news
	fatal    chan error

	reads batcher
	repl  *replicator

	dbMu sync.Mutex
	dbs  []*stoppingDB // every database CometBFT opened, closed after it stops

	compact *compactor // compacts the block store after pruning (nil when pruning keeps every block)

	gossip *meshGossip // with Config.FullMesh: the mempool reactor that relays nothing (txgossip.go)
}

// dbProvider opens CometBFT's databases and remembers them: CometBFT does not close its
// indexer database on stop, which would keep the home locked for a restart in-process.
func (n *Node) dbProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	raw, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	db := &stoppingDB{DB: raw, id: ctx.ID}
	n.dbMu.Lock()
	n.dbs = append(n.dbs, db)
	n.dbMu.Unlock()
	return db, nil
}

// stoppingDB answers "not found" instead of an error once closed. CometBFT's consensus
// reactor has a per-peer routine that can wake after the node stopped and read a commit from
// the closed block store, which panics the whole process; with several validators that
// turned a clean stop into a crash.
type stoppingDB struct {
	dbm.DB
	id     string // CometBFT's name for it: "blockstore", "state", "evidence"
	closed atomic.Bool
}

func (d *stoppingDB) Get(k []byte) ([]byte, error) {
	v, err := d.DB.Get(k)
	if err != nil && d.closed.Load() {
		return nil, nil
	}
	return v, err
}

func (d *stoppingDB) Has(k []byte) (bool, error) {
	ok, err := d.DB.Has(k)
	if err != nil && d.closed.Load() {
		return false, nil
	}
	return ok, err
}

func (d *stoppingDB) Close() error {
	d.closed.Store(true)
	return d.DB.Close()
}

// Start opens the home directory, takes its lock and starts consensus.
func Start(home string, o Overrides, logw io.Writer) (*Node, error) {
	if logw == nil {
		logw = os.Stderr
	}
	cfg, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	apply(&cfg, o)
	if err := cfg.checkListens(); err != nil {
		return nil, err
	}
	p := Paths{home}
	release, err := lockHome(p)
	if err != nil {
		return nil, err
	}
	n := &Node{Config: cfg, Paths: p, release: release, logw: logw, fatal: make(chan error, 1)}
	if err := n.start(); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func apply(c *Config, o Overrides) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.API, o.API)
	if o.RPC == "on" {
		o.RPC = DefaultRPC
	}
	set(&c.RPC, o.RPC)
	set(&c.P2P, o.P2P)
	// Listen addresses, from flags or the config file, may carry CometBFT's tcp:// scheme.
	for _, a := range []*string{&c.API, &c.RPC, &c.P2P} {
		*a = hostPort(*a)
	}
	set(&c.Peers, o.Peers)
	set(&c.TLSCert, o.TLSCert)
	set(&c.TLSKey, o.TLSKey)
	set(&c.LogLevel, o.LogLevel)
	if o.NoRPC {
		c.RPC = ""
	}
}

func (n *Node) logf(format string, args ...any) {
	if n.Config.LogLevel == "error" {
		return
	}
	fmt.Fprintf(n.logw, "%s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, args...))
}

func (n *Node) start() (err error) {
	defer n.recoverStart(&err)
	p := n.Paths
	for _, f := range []string{p.Genesis(), p.PrivValKey(), p.NodeKey()} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing: the home directory %s is incomplete", f, p.Home)
		}
	}
	// Open trusts the hashes stored in the state tree, and CometBFT its stores: check them
	// first (damage.go), so damage stops the node instead of being served.
	if err := checkHome(p); err != nil {
		return err
	}
	st, err := state.Open(p.AppDir())
	if err != nil {
		return err
	}
	n.st = st
	st.SetShredLog(n.logf)
	if n.blobs, err = blobs.Open(filepath.Join(p.AppDir(), "blobs")); err != nil {
		return err
	}
	policy, err := n.Config.blobPolicy()
	if err != nil {
		return fmt.Errorf("%s: %w", p.Config(), err)
	}
	n.blobs.SetPolicy(policy)
	n.App = app.New(n.Config.ChainID, st, n.logf)
	if err := n.serveSnapshots(); err != nil {
		return err
	}
	if err := n.setPruning(); err != nil {
		return err
	}
	// The audit query index is outside consensus and rebuilt from the log when missing.
	if n.audit, err = auditindex.Open(filepath.Join(p.AppDir(), "auditidx")); err != nil {
		n.logf("audit queries will scan the log: %v", err)
	} else {
		n.audit.Follow(func() audit.LogView { return n.View() }, time.Second, n.logf)
	}

	cc := cmtcfg.DefaultConfig()
	cc.SetRoot(p.Home)
	cc.Moniker = n.Config.Moniker
	cc.P2P.ListenAddress = "tcp://" + n.Config.P2P
	cc.P2P.PersistentPeers = n.Config.Peers
	cc.P2P.AddrBookStrict = false
	cc.P2P.AllowDuplicateIP = true
	// CometBFT caps each peer connection at 5 MB/s by default: a block of 2,000 record writes
	// (8 MiB) would then take seconds to reach the other validators and run into the propose
	// timeout. Hospitals peer over links far faster than that.
	cc.P2P.SendRate, cc.P2P.RecvRate = p2pRate, p2pRate
	cc.P2P.MaxPacketMsgPayloadSize = 64 << 10
	cc.RPC.ListenAddress = ""
	if n.Config.RPC != "" {
		n.logf("CometBFT RPC on %s: an operator's tool that answers every raw transaction to anyone who reaches it and bypasses the API's audited path; keep it on loopback or behind the operator's network", n.Config.RPC)
		cc.RPC.ListenAddress = "tcp://" + n.Config.RPC
	}
	cc.Consensus.TimeoutCommit = n.Config.blockDelay()
	cc.Consensus.CreateEmptyBlocks = true
	// Block time is BFT time (the median of the previous commit's votes), so after an idle
	// spell it lags the wall clock by up to this interval. Grant expiry is judged by block
	// time: a short interval keeps that lag around a second.
	cc.Consensus.CreateEmptyBlocksInterval = time.Second
	cc.Mempool.Size = n.Config.Mempool
	cc.Mempool.MaxTxBytes = tx.MaxTxBytes
	cc.Mempool.MaxTxsBytes = int64(n.Config.Mempool) * 8 << 10
	cc.Mempool.CacheSize = 2 * n.Config.Mempool
	cc.Instrumentation.Prometheus = false
	cc.TxIndex.Indexer = "null" // the application indexes results itself (app.LookupResult)
	if err := n.Config.stateSyncConfig(cc.StateSync, p.Home); err != nil {
		return fmt.Errorf("%s: %w", p.Config(), err)
	}
	if err := cc.ValidateBasic(); err != nil {
		return fmt.Errorf("node configuration: %w", err)
	}
	gen, err := types.GenesisDocFromFile(p.Genesis())
	if err != nil {
		return err
	}
	if gen.ChainID != n.Config.ChainID {
		return fmt.Errorf("genesis is for chain %q but %s says %q", gen.ChainID, p.Config(), n.Config.ChainID)
	}
	nodeKey, err := p2p.LoadNodeKey(p.NodeKey())
	if err != nil {
		return err
	}
	pv := privval.LoadOrGenFilePV(p.PrivValKey(), p.PrivValState())
	// One lock per ABCI connection instead of one for all: CheckTx keeps admitting
	// transactions while a block executes. The application is written for it: CheckTx reads
	// only the committed snapshot and locked caches, and CometBFT holds the mempool lock
	// across Commit, so CheckTx never overlaps a commit.
	var opts []nm.Option
	if n.Config.FullMesh {
		opts = append(opts, n.installMeshGossip(2*n.Config.Mempool))
	}
	c, err := nm.NewNode(cc, pv, nodeKey, proxy.NewConnSyncLocalClientCreator(n.App),
		func() (*types.GenesisDoc, error) { return gen, nil },
		n.dbProvider, nm.DefaultMetricsProvider(cc.Instrumentation), n.cmtLogger(), opts...)
	if err != nil {
		return fmt.Errorf("create consensus node: %w", err)
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start consensus node: %w", err)
	}
	n.cmt = c
	n.rpc = local.New(c)
	go n.watchFatal()
	n.startReplicator(nodeKey)
	n.startCompactor()
	return nil
}

func (n *Node) cmtLogger() cmtlog.Logger {
	base := consensusFailureLogger{Logger: cmtlog.NewTMLogger(cmtlog.NewSyncWriter(n.logw)), n: n}
	switch n.Config.LogLevel {
	case "debug":
		opt, _ := cmtlog.AllowLevel("info")
		return cmtlog.NewFilter(base, opt)
	default:
		return cmtlog.NewFilter(base, cmtlog.AllowError())
	}
}

func (n *Node) watchFatal() {
	err, ok := <-n.App.Fatal()
	if !ok {
		return
	}
	n.fatal <- fmt.Errorf("consensus halted: %w", err)
}

// Fatal delivers an error if the application failed inside consensus; the caller must stop
// the node and exit non-zero.
func (n *Node) Fatal() <-chan error { return n.fatal }

// Stop shuts the node down cleanly and releases the home directory.
func (n *Node) Stop() error {
	var err error
	n.stopOnce.Do(func() {
		n.stopping.Store(true)
		if n.compact != nil {
			n.compact.close() // before CometBFT closes the WAL it trims
		}
		if n.cmt != nil && n.cmt.IsRunning() {
			done := make(chan struct{})
			go func() {
				if e := n.cmt.Stop(); e != nil {
					err = e
				}
				n.cmt.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("consensus did not stop within 20s")
			}
		}
		n.close()
	})
	return err
}

func (n *Node) close() {
	if n.repl != nil {
		n.repl.close()
	}
	if n.compact != nil {
		n.compact.close()
	}
	n.dbMu.Lock()
	for _, db := range n.dbs {
		db.Close() // already closed ones report an error we do not need
	}
	n.dbs = nil
	n.dbMu.Unlock()
	if n.audit != nil {
		n.audit.Close()
	}
	if n.snaps != nil {
		n.snaps.Close()
	}
	if n.st != nil {
		n.st.Close()
	}
	if n.release != nil {
		n.release()
	}
}

// Height is the last committed height.
func (n *Node) Height() int64 { return n.st.LastCommit().Height }

// Status is what `ehrchain status` shows (the wire form GET /v1/status answers).
type Status = wire.Status

// Validator is one member of the current validator set.
type Validator = wire.Validator

// Status reports the node's view of the chain.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	s, err := n.rpc.Status(ctx)
	if err != nil {
		return nil, err
	}
	c := n.st.LastCommit()
	out := &Status{ChainID: n.Config.ChainID, Moniker: n.Config.Moniker, NodeID: string(s.NodeInfo.ID()),
		Height: c.Height, AppHash: fmt.Sprintf("%X", c.AppHash), BlockHash: s.SyncInfo.LatestBlockHash.String(),
		BlockTime: s.SyncInfo.LatestBlockTime, CatchingUp: s.SyncInfo.CatchingUp, LogSize: c.LogSize, BlobsMissing: n.BlobsMissing(),
		BlobsPending: n.blobs.Pending()}
	perPage := 100
	vals, err := n.rpc.Validators(ctx, nil, nil, &perPage)
	if err != nil {
		return nil, err
	}
	for _, v := range vals.Validators {
		out.Validators = append(out.Validators, Validator{Address: v.Address.String(),
			PubKey: fmt.Sprintf("%s:%X", v.PubKey.Type(), v.PubKey.Bytes()), Power: v.VotingPower})
	}
	return out, nil
}

// ErrMempool is returned when the mempool refuses a transaction for reasons other than the
// application's checks (full, duplicate). It is wire.ErrMempool, which the API tests for.
var ErrMempool = wire.ErrMempool

// Broadcast runs CheckTx and, if wait is set, waits for the transaction's block to commit.
// A CheckTx rejection is returned as a committed-style Result with Height 0.
func (n *Node) Broadcast(ctx context.Context, raw []byte, wait bool) (app.Result, error) {
	h := tx.Hash(raw)
	hash := fmt.Sprintf("%x", h)
	var watch <-chan app.Result
	if wait {
		ch, cancel := n.App.Watch(h)
		defer cancel()
		watch = ch
	}
	n.App.Preverify(raw, h)
	if n.gossip != nil {
		n.gossip.local.add(raw) // sent to every peer, whoever else sends it back
	}
	resCh := make(chan *abci.ResponseCheckTx, 1)
	err := n.cmt.Mempool().CheckTx(raw, func(r *abci.ResponseCheckTx) { resCh <- r }, mempool.TxInfo{})
	if err != nil {
		if errors.Is(err, mempool.ErrTxInCache) {
			return app.Result{Hash: hash}, fmt.Errorf("%w: this exact transaction was already submitted", ErrMempool)
		}
		var tooLarge mempool.ErrTxTooLarge
		if errors.As(err, &tooLarge) {
			e := tx.Space.Err(tx.CodeTooLarge, "%v", err)
			return app.Result{Hash: hash, Code: e.Code, Codespace: e.Codespace, Log: e.Message}, nil
		}
		return app.Result{Hash: hash}, fmt.Errorf("%w: %v", ErrMempool, err)
	}
	var r *abci.ResponseCheckTx
	select {
	case r = <-resCh:
	case <-ctx.Done():
		return app.Result{Hash: hash}, ctx.Err()
	}
	if r.Code != abci.CodeTypeOK {
		return app.Result{Hash: hash, Code: r.Code, Codespace: r.Codespace, Log: r.Log}, nil
	}
	if !wait {
		return app.Result{Hash: hash}, nil
	}
	select {
	case res := <-watch:
		return res, nil
	case <-ctx.Done():
		return app.Result{Hash: hash}, fmt.Errorf("transaction %s was accepted but not committed before the deadline: %w", hash, ctx.Err())
	}
}

// Blobs is the node's blob store.
func (n *Node) Blobs() *blobs.Store { return n.blobs }

// AuditIndex is the node's audit query index, or nil.
func (n *Node) AuditIndex() *auditindex.Index { return n.audit }

// View is the last committed state.
func (n *Node) View() *state.View { return n.st.Committed() }

// ChainID of the node.
func (n *Node) ChainID() string { return n.Config.ChainID }

// LookupTx finds a committed transaction's result by hash.
func (n *Node) LookupTx(_ context.Context, hash []byte) (app.Result, error) {
	if len(hash) != 32 {
		return app.Result{}, os.ErrNotExist
	}
	// The result index is read from the database as last committed, which can be one block
	// ahead of the newest published view for a moment. A result is reported only once the
	// view holding its block's state is published, so that a caller who sees it committed
	// and then reads the state it produced finds it.
	v := n.View()
	r, ok := app.LookupResult(v, [32]byte(hash))
	if !ok || r.Height > v.Height() {
		return app.Result{}, os.ErrNotExist
	}
	return r, nil
}

// consensusFailureLogger stops the node when CometBFT's consensus routine fails (for
// example: the validators committed a block whose app hash this node's state does not
// produce). CometBFT only logs that and leaves the process serving a state it can no longer
// advance; the node must exit instead.
type consensusFailureLogger struct {
	cmtlog.Logger
	n *Node
}

// shutdownNoise are the errors CometBFT logs on every clean stop: its listeners and
// pools report that they were closed. Once Stop began they are dropped, so an error line
// in the log means something went wrong.
var shutdownNoise = []string{"Stopped accept routine", "Error stopping pool", "Error serving server"}

func (l consensusFailureLogger) Error(msg string, keyvals ...any) {
	if l.n.stopping.Load() && slices.ContainsFunc(shutdownNoise, func(p string) bool { return strings.HasPrefix(msg, p) }) {
		return
	}
	l.Logger.Error(msg, keyvals...)
	if strings.HasPrefix(msg, "CONSENSUS FAILURE") {
		var cause any = "unknown cause"
		for i := 0; i+1 < len(keyvals); i += 2 {
			if keyvals[i] == "err" {
				cause = keyvals[i+1]
			}
		}
		err := fmt.Errorf("consensus halted (CometBFT consensus failure): %v", cause)
		select {
		case l.n.fatal <- err:
		default:
		}
	}
}

func (l consensusFailureLogger) With(keyvals ...any) cmtlog.Logger {
	return consensusFailureLogger{Logger: l.Logger.With(keyvals...), n: l.n}
}
