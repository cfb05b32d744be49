package app

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/decodecache"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Version is reported to CometBFT in Info.
const Version = "0.1.0"

// App is the ehrchain ABCI application.
type App struct {
	abci.BaseApplication

	chainID string
	st      *state.Store
	verify  verifier // every signature check (verifier.go), over the signature cache
	memo    *txMemo  // transaction hashes, so each is computed once (txmemo.go)
	// decoded holds this App's caches of decoded state values (identities, grants, keys);
	// the store carries it to every reader the domain packages are given.
	decoded *decodecache.Set
	logf    func(format string, args ...any)
	urgent  *emergency.Pool // emergency transactions admitted, for the next proposal
	lastBT  atomic.Int64    // time of the last block executed (unix ns; 0: none since start), for CheckTx

	mu      sync.Mutex
	pending map[string]uint64 // next sequence per signer including the mempool
	// budgets are the chain's admission limits (nil: none); pendingUse is each signer's
	// usage including the mempool, as pending is for sequences.
	budgets    *admission.Budgets
	pendingUse map[string]admission.Usage
	genesis    genesisView // what InitChain wrote, for CheckTx before the first commit

	// Current block, set by FinalizeBlock and consumed by Commit.
	height    int64
	results   []blockResult
	valBefore map[string]int64 // validator power at block start, per address a tx touched

	watchMu  sync.Mutex
	watchers map[[32]byte][]chan Result

	fatalOnce sync.Once
	fatal     chan error

	snaps   snapshots // state-sync snapshots (snapshots.go)
	blobs   blobFeed  // the blob references of each committed block (blobrefs.go)
	pruning Pruning   // history kept (pruning.go)
}

// Result is the outcome of a committed transaction; its form is the wire's, which the API
// answers and clients decode.
type Result = wire.Result

// New builds the application over an opened store. logf receives one line per block.
func New(chainID string, st *state.Store, logf func(string, ...any)) *App {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	decoded := decodecache.NewSet()
	st.UseDecodeCache(decoded)
	return &App{
		chainID: chainID, st: st, decoded: decoded, verify: verifier{newSigCache(500_000)}, memo: newTxMemo(100_000, 64<<20),
		logf: logf, urgent: emergency.NewPool(10_000),
		pending: map[string]uint64{}, pendingUse: map[string]admission.Usage{}, budgets: loadBudgets(st), watchers: map[[32]byte][]chan Result{}, valBefore: map[string]int64{},
		fatal: make(chan error, 1),
	}
}

// Fatal delivers the first error that broke consensus. The node must stop on it: CometBFT
// itself only logs a consensus failure and would leave the process running.
func (a *App) Fatal() <-chan error { return a.fatal }

func (a *App) fail(err error) error {
	a.fatalOnce.Do(func() { a.fatal <- err })
	return err
}

// halt turns a panic inside consensus (a state fault or a bug) into an error. This node must
// stop rather than vote on a state it could not compute: the error reaches CometBFT, which
// halts consensus, and Fatal, which stops the process.
func (a *App) halt(height int64, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok {
		*err = a.fail(fmt.Errorf("block %d: %w", height, e))
	} else {
		*err = a.fail(fmt.Errorf("block %d: %v", height, r))
	}
}

// Store exposes the state store for queries.
func (a *App) Store() *state.Store { return a.st }

// ChainID is the chain this application serves.
func (a *App) ChainID() string { return a.chainID }

// Info reports the last committed height and app hash truthfully, so CometBFT replays only
// the blocks the application has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	c := a.st.LastCommit()
	return &abci.ResponseInfo{Data: "ehrchain", Version: Version, AppVersion: 1,
		LastBlockHeight: c.Height, LastBlockAppHash: c.AppHash}, nil
}

// InitChain creates the genesis registrars.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	if req.ChainId != a.chainID {
		return nil, a.fail(fmt.Errorf("genesis chain id %q does not match configured %q", req.ChainId, a.chainID))
	}
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, a.fail(err)
	}
	a.st.SetInitialHeight(req.InitialHeight)
	gv := genesisView{}
	for _, r := range g.Registrars {
		id := r.identity()
		reg := &identity.Register{Role: identity.Registrar, SignKey: r.SignKey, EncKey: r.EncKey}
		id.ID = reg.SubjectID()
		identity.Put(a.st, id)
		identity.Put(gv, id)
		ev := &audit.Event{Time: req.Time, Action: audit.IdentityRegister, Outcome: audit.Success,
			Actor: "genesis", Subject: id.ID, Reason: string(identity.Registrar)}
		a.st.Append(ev.Encode())
	}
	if g.AllowNoop {
		a.st.Set(noopKey, []byte{1})
		gv.Set(noopKey, []byte{1})
	}
	if g.OpenRegistration {
		a.st.Set(openKey, []byte{1})
		gv.Set(openKey, []byte{1})
	}
	if ps, _ := erasure.GenesisPolicies(g.Retention); len(ps) > 0 {
		erasure.SetPolicies(a.st, ps)
		for _, p := range ps {
			ev := &audit.Event{Time: req.Time, Action: audit.RetentionSet, Outcome: audit.Success, Actor: "genesis",
				Reason: fmt.Sprintf("category %s kept %d days after its last write: %s", p.Category, p.Days, p.Reason)}
			if p.Category != erasure.AnyCategory {
				ev.Category = p.Category
			}
			a.st.Append(ev.Encode())
		}
	}
	if !g.Budgets.Off {
		bj, _ := json.Marshal(g.Budgets)
		a.st.Set(budgetsKey, bj)
	}
	if err := a.initValidators(a.st, g, req.Validators); err != nil {
		return nil, a.fail(err)
	}
	a.mu.Lock()
	a.genesis = gv
	a.budgets = loadBudgets(a.st)
	a.mu.Unlock()
	return &abci.ResponseInitChain{AppHash: a.st.WorkingHash()}, nil
}

// genesisView holds the genesis state until the first block commits it, so the genesis
// registrars can submit transactions for the first block.
type genesisView map[string][]byte

func (g genesisView) Get(k []byte) []byte { return g[string(k)] }
func (g genesisView) Set(k, v []byte)     { g[string(k)] = v }

// checkView is the committed state CheckTx judges against.
func (a *App) checkView() identity.Reader {
	if v := a.st.Committed(); v.Height() > 0 {
		return v
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.genesis
}

// CheckTx admits a transaction to the mempool. It never writes state.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if err := a.check(req.Tx, req.Type == abci.CheckTxType_Recheck); err != nil {
		h := a.hashOf(req.Tx)
		a.memo.forget(req.Tx)                     // not (or no longer) in the mempool
		if req.Type == abci.CheckTxType_Recheck { // evicted from the mempool
			a.urgent.Remove(h)
			a.dropped(h, err)
		}
		return &abci.ResponseCheckTx{Code: err.Code, Codespace: err.Codespace, Log: err.Message}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// hashOf is tx.Hash(raw), computed once per node: from the memo when this node met raw
// before, else computed and remembered.
func (a *App) hashOf(raw []byte) [32]byte {
	if h, ok := a.memo.get(raw); ok {
		return h
	}
	h := tx.Hash(raw)
	a.memo.put(raw, h)
	return h
}

func (a *App) check(raw []byte, recheck bool) *tx.Error {
	d, err := a.decodeHashed(raw, a.hashOf(raw))
	if err != nil {
		return err
	}
	if d.r.unsigned {
		return a.checkReads(d.body.(*records.ReadBatch), recheck)
	}
	view := a.checkView()
	if d.env.BodyType == TypeNoop {
		if err := checkNoop(view); err != nil {
			return err
		}
	}
	who, pub, err := signerKey(view, d)
	if err != nil {
		return err
	}
	signer := d.env.SignerID()
	committedNext := nextSequence(view, signer)
	if d.env.Sequence < committedNext {
		return tx.Space.Err(tx.CodeBadSequence, "sequence %d was already used (next is %d): replayed transaction", d.env.Sequence, committedNext)
	}
	// A recheck re-verifies only if the signer's key changed since admission.
	if !a.verify.envelope(d, pub) {
		return tx.Space.Err(tx.CodeBadSignature, "signature does not verify with the signer's current key")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	expected, ok := a.pending[signer]
	if !ok || expected < committedNext {
		expected = committedNext
	}
	if d.env.Sequence != expected {
		if d.env.Sequence < expected {
			return tx.Space.Err(tx.CodeBadSequence, "sequence %d is already pending (next is %d): replayed transaction", d.env.Sequence, expected)
		}
		return tx.Space.Err(tx.CodeBadSequence, "sequence %d is out of order: the signer's next sequence is %d", d.env.Sequence, expected)
	}
	if emergency.Priority(d.env.BodyType) {
		var at time.Time
		if ns := a.lastBT.Load(); ns != 0 {
			at = time.Unix(0, ns).UTC()
		}
		if err := emergency.Admit(view, signer, d.body, at); err != nil {
			return err
		}
	}
	if err := checkSelfRegistration(view, who); err != nil {
		return err
	}
	if a.budgets != nil {
		if err := a.chargeAdmission(view, d, who); err != nil {
			return err
		}
	}
	a.pending[signer] = expected + 1
	if !recheck && emergency.Priority(d.env.BodyType) {
		a.urgent.Add(d.hash, raw)
	}
	return nil
}

// checkReads admits a read batch if every request is signed by its (registered) requester
// for this chain. Each signature is checked once; FinalizeBlock finds it in the cache.
func (a *App) checkReads(b *records.ReadBatch, recheck bool) *tx.Error {
	if recheck {
		return nil // requests are void-checked again at execution; nothing to refresh here
	}
	for i, err := range a.verifyReads(b.Requests) {
		if err != nil {
			return aboutRequest(err, fmt.Sprintf("read request %d", i))
		}
	}
	return nil
}

// aboutRequest is err (from verifyReads) saying which request it is about.
func aboutRequest(err *tx.Error, which string) *tx.Error {
	return &tx.Error{Codespace: err.Codespace, Code: err.Code, Message: which + ": " + err.Message}
}

// verifyReads checks that each request is signed for this chain by its registered
// requester, and answers for each (nil: it may be batched; else why not, in words that do
// not depend on its place in qs). The signatures not verified before are checked together
// and remembered for CheckTx and FinalizeBlock.
func (a *App) verifyReads(qs []*records.ReadRequest) []*tx.Error {
	errs := make([]*tx.Error, len(qs))
	view := a.checkView()
	var todo []int
	var signed []*records.ReadRequest
	var pubs []ed25519.PublicKey
	for i, q := range qs {
		if q.ChainID != a.chainID {
			errs[i] = tx.Space.Err(tx.CodeWrongChain, "signed for chain %q", q.ChainID)
			continue
		}
		who := identity.Get(view, q.Requester)
		if who == nil {
			errs[i] = tx.Space.Err(tx.CodeUnknownSigner, "requester %s is not registered", q.Requester)
			continue
		}
		todo, signed, pubs = append(todo, i), append(signed, q), append(pubs, who.SignKey)
	}
	for k, ok := range a.verify.requests(signed, pubs) {
		if !ok {
			errs[todo[k]] = tx.Space.Err(tx.CodeBadSignature, "the signature does not verify with the requester's key")
		}
	}
	return errs
}

// FinalizeBlock executes a decided block.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (_ *abci.ResponseFinalizeBlock, err error) {
	defer a.halt(req.Height, &err)
	a.height = req.Height
	a.lastBT.Store(req.Time.UnixNano())
	a.results = a.results[:0]
	clear(a.valBefore)
	a.blobs.cur = BlockBlobs{LogStart: a.st.LastCommit().LogSize}
	decs, pre := a.preverify(req.Txs)
	a.forgetUrgent(decs)
	out := make([]*abci.ExecTxResult, len(req.Txs))
	for i := range req.Txs {
		res := a.deliver(req, decs[i], pre[i])
		out[i] = res
		a.results = append(a.results, blockResult{hash: decs[i].hash, height: req.Height,
			code: res.Code, codespace: res.Codespace, log: res.Log})
	}
	for i := range a.results {
		r := &a.results[i]
		a.st.PutIndex(resultKey(r.hash), encodeResult(r))
	}
	return &abci.ResponseFinalizeBlock{TxResults: out, ValidatorUpdates: a.validatorUpdates(), AppHash: a.st.WorkingHash()}, nil
}

// blockTx is one transaction of a block after the parallel pre-pass.
type blockTx struct {
	d    *decoded
	err  *tx.Error
	hash [32]byte
}

// preverify decodes every transaction and checks the signatures CheckTx did not see, in
// parallel batches (verifyBlock). It returns, per transaction, the key its signature
// verified with (nil: not verified). Verification is a pure function, so batching it and
// running it concurrently is deterministic.
func (a *App) preverify(txs [][]byte) ([]blockTx, [][]byte) {
	view := a.st.Committed()
	decs := make([]blockTx, len(txs))
	pre := make([][]byte, len(txs))
	var todo []int
	for i, raw := range txs {
		h, ok := a.memo.take(raw)
		if !ok {
			h = tx.Hash(raw)
		}
		decs[i].hash = h
		d, err := a.decodeHashed(raw, decs[i].hash)
		decs[i].d, decs[i].err = d, err
		if err != nil || d.r.unsigned {
			continue
		}
		_, pub, kerr := signerKey(view, d)
		if kerr != nil {
			continue
		}
		pre[i] = pub
		if !a.verify.used(d.hash, pub) {
			todo = append(todo, i)
		}
	}
	verifyBlock(decs, pre, todo)
	a.readAhead(decs)
	return decs, pre
}

// readAhead has the index lookups of the block's transactions made on every core before
// it runs (state.ReadAhead).
func (a *App) readAhead(decs []blockTx) {
	var fns []func(*state.AheadReader)
	for _, b := range decs {
		if b.err != nil || b.d.r.ahead == nil {
			continue
		}
		fns = append(fns, b.d.r.ahead(b.d.body)...)
	}
	a.st.ReadAhead(fns)
}

func (a *App) deliver(req *abci.RequestFinalizeBlock, b blockTx, verifiedWith []byte) *abci.ExecTxResult {
	if b.err != nil {
		return result(b.err)
	}
	d := b.d
	env := identity.Env{ChainID: a.chainID, Height: req.Height, Time: req.Time.UTC(), TxHash: hex.EncodeToString(d.hash[:])}
	if d.r.unsigned {
		ov := a.st.Begin()
		records.ExecReadBatch(ov, env, a.chainID, d.body.(*records.ReadBatch), a.verify.inBlockRequest, emergency.Facts)
		ov.Flush()
		return &abci.ExecTxResult{Code: abci.CodeTypeOK}
	}
	signer, pub, err := signerKey(a.st, d)
	if err != nil {
		return result(err)
	}
	id := d.env.SignerID()
	next := nextSequence(a.st, id)
	if d.env.Sequence != next {
		if d.env.Sequence < next {
			return result(tx.Space.Err(tx.CodeBadSequence, "sequence %d was already used (next is %d): replayed transaction", d.env.Sequence, next))
		}
		return result(tx.Space.Err(tx.CodeBadSequence, "sequence %d is out of order: the signer's next sequence is %d", d.env.Sequence, next))
	}
	if !(verifiedWith != nil && string(verifiedWith) == string(pub)) && !a.verify.inBlock(d, pub) {
		return result(tx.Space.Err(tx.CodeBadSignature, "signature does not verify with the signer's current key"))
	}
	if err := checkSelfRegistration(a.st, signer); err != nil {
		return result(err)
	}
	if a.budgets != nil {
		if err := a.chargeBlock(a.st, d, signer, req.Time); err != nil {
			return result(err)
		}
	}
	a.noteValidator(d.body)
	ov := a.st.Begin()
	env.Signer = signer
	if err := d.r.exec(ov, env, id, d.body); err != nil {
		return result(err)
	}
	putSequence(ov, id, next+1)
	ov.Flush()
	a.noteBlobs(d.body)
	return &abci.ExecTxResult{Code: abci.CodeTypeOK}
}

func result(e *tx.Error) *abci.ExecTxResult {
	return &abci.ExecTxResult{Code: e.Code, Codespace: e.Codespace, Log: e.Message}
}

// Commit makes the block durable, resets the mempool's sequence view and wakes waiters.
func (a *App) Commit(context.Context, *abci.RequestCommit) (_ *abci.ResponseCommit, err error) {
	defer a.halt(a.height, &err)
	start := time.Now()
	c, err := a.st.Commit(a.height)
	if err != nil {
		return nil, a.fail(fmt.Errorf("commit block %d: %w", a.height, err))
	}
	a.publishBlobs(c.Height, c.LogSize)
	a.maybeSnapshot(c)
	retain := a.prune(c)
	a.mu.Lock()
	clear(a.pending)
	clear(a.pendingUse)
	a.mu.Unlock()
	a.notify()
	if len(a.results) > 0 {
		a.logf("committed height=%d txs=%d app_hash=%X commit=%s", c.Height, len(a.results), c.AppHash, time.Since(start).Round(time.Millisecond))
	}
	return &abci.ResponseCommit{RetainHeight: retain}, nil
}

// VerifyReads checks the read requests the node is about to batch, so one bad request
// cannot sink a batch: errs[i] says why qs[i] must be left out, nil if it may go in. The
// signatures are verified together and remembered for CheckTx and FinalizeBlock.
func (a *App) VerifyReads(qs []*records.ReadRequest) (errs []*tx.Error) {
	errs = a.verifyReads(qs)
	for i, err := range errs {
		if err != nil {
			errs[i] = aboutRequest(err, "read request")
		}
	}
	return errs
}

// Preverify checks a transaction's signature before it is handed to CometBFT, so the
// expensive check runs on the caller's goroutine instead of under the ABCI connection lock
// that serializes CheckTx with block execution. It only fills the signature cache and the
// hash memo (h must be tx.Hash(raw)); CheckTx still makes every decision.
func (a *App) Preverify(raw []byte, h [32]byte) {
	a.memo.put(raw, h)
	d, err := a.decodeHashed(raw, h)
	if err != nil || d.r.unsigned {
		return
	}
	if _, pub, kerr := signerKey(a.checkView(), d); kerr == nil {
		a.verify.envelope(d, pub)
	}
}
