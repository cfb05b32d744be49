package integrity

import (
	"bytes"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/state"
)

// Options tune Verify.
type Options struct {
	// NoReplay skips re-executing the blocks. App hashes are then only checked for agreement
	// between the signed headers, CometBFT's stored results and the state database, not
	// recomputed from the transactions, and the derived indexes (which no hash covers) are
	// not checked at all.
	NoReplay bool
	// Progress, if set, is called after each verified height.
	Progress func(height, head int64)
}

// Report says what Verify checked.
type Report struct {
	ChainID    string
	Base, Head int64  // stored block heights; 0 and 0 if none
	Verified   int64  // blocks verified before Verify returned
	AppHeight  int64  // height of the application state
	Events     uint64 // events in the log at AppHeight
	AppHash    []byte // app hash at AppHeight
	Replayed   bool   // the blocks were re-executed
	// Pruned is set when the node no longer holds its whole history (pruned, or started
	// from a snapshot): what could not be checked, in a sentence each.
	Pruned []string
	// MapFrom is the oldest state map version checked (older ones were pruned).
	MapFrom int64
}

// Failure is the first thing Verify found that disagrees with the chain.
type Failure struct {
	Height int64  // the first height whose stored data disagrees; 0 if not tied to one
	Part   string // what disagrees: "block", "commit", "validators", "results", "app hash", "event log", "state map", ...
	Detail string
}

func (f *Failure) Error() string {
	if f.Height > 0 {
		return fmt.Sprintf("height %d: %s: %s", f.Height, f.Part, f.Detail)
	}
	return f.Part + ": " + f.Detail
}

func fail(height int64, part, format string, args ...any) *Failure {
	return &Failure{Height: height, Part: part, Detail: fmt.Sprintf(format, args...)}
}

// Verify re-checks the stored chain and application state of the stopped node at home. It
// returns a *Failure for the first height where stored data does not match what the
// validators signed (or what replaying the signed blocks produces), and other errors when
// the home cannot be read at all. The report says how far it got.
func Verify(home string, o Options) (*Report, error) {
	h, err := openHome(home)
	if err != nil {
		return &Report{}, err
	}
	defer h.close()
	return verifyHome(h, o)
}

func verifyHome(h *home, o Options) (*Report, error) {
	v := &verifier{h: h, o: o, rep: &Report{ChainID: h.chainID}, recent: map[int64]*verified{}}
	err := v.run()
	if v.rp != nil {
		v.rp.close()
	}
	return v.rep, err
}

type verifier struct {
	h      *home
	o      Options
	rep    *Report
	rp     *replayer
	cmt    sm.State            // CometBFT's stored consensus state
	recent map[int64]*verified // the last two verified heights
}

// verified is what later heights and the final checks need from a verified block.
type verified struct {
	block   *types.Block
	id      types.BlockID
	commit  *types.Commit       // the verified commit for this block
	appHash []byte              // app hash after executing it (replayed or stored)
	results []byte              // hash of its transaction results
	vals    *types.ValidatorSet // the validator set of its height
	params  types.ConsensusParams
	updates *cmtproto.ConsensusParams // parameter changes it made, for the next height
}

func (v *verifier) run() error {
	head := v.h.head()
	if v.h.app != nil {
		v.rep.AppHeight = v.h.app.Commit().Height
	}
	app := v.rep.AppHeight
	if head == 0 {
		if app != 0 {
			return fail(app, "app state", "the application state is at height %d but no block is stored", app)
		}
		return nil
	}
	base := v.h.blocks.Base()
	v.rep.Base, v.rep.Head = base, head
	var err error
	if v.cmt, err = v.h.states.state(); err != nil {
		return fail(head, "consensus state", "%v", err)
	}
	if app < head-1 || app > head {
		return fail(app, "app state", "the application state is at height %d but the block store holds blocks up to %d", app, head)
	}
	var genesisAppHash []byte
	if base != v.h.genesis.InitialHeight {
		v.rep.Pruned = append(v.rep.Pruned,
			fmt.Sprintf("blocks %d to %d are not stored (pruned, or before the snapshot this node started from): they and block %d's link to them are not checked", v.h.genesis.InitialHeight, base-1, base),
			"no replay from genesis: app hashes are checked against the stored results and the next headers, not recomputed; the derived indexes (record versions, ciphertexts, transaction results) are not checked")
		v.o.NoReplay = true
	}
	if !v.o.NoReplay {
		if v.rp, genesisAppHash, err = newReplayer(v.h.genesis); err != nil {
			return err
		}
		v.rep.Replayed = true
	}
	var mc *state.MapChecker
	if app > 0 {
		mc = v.h.app.MapChecker()
		if v.rep.MapFrom, err = v.h.app.FirstVersion(); err != nil {
			return err
		}
		if v.rep.MapFrom > base {
			v.rep.Pruned = append(v.rep.Pruned, fmt.Sprintf("state map versions below height %d were pruned: heights %d to %d are checked without their state map", v.rep.MapFrom, base, v.rep.MapFrom-1))
		}
	}
	for height := base; height <= head; height++ {
		b, id, err := loadBlock(v.h.blocks, height)
		if err != nil {
			return fail(height, "block", "%v", err)
		}
		cur := &verified{block: b, id: id}
		if err := v.checkHeader(cur, v.recent[height-1], genesisAppHash); err != nil {
			return err
		}
		if err := v.checkCommits(cur, head); err != nil {
			return err
		}
		if err := v.execute(cur); err != nil {
			return err
		}
		if height <= app && height >= v.rep.MapFrom {
			if err := v.checkMapVersion(mc, height); err != nil {
				return err
			}
		}
		if height == app {
			if err := v.checkAppState(app, cur.appHash); err != nil {
				return err
			}
		}
		v.recent[height] = cur
		delete(v.recent, height-2)
		v.rep.Verified++
		if v.o.Progress != nil {
			v.o.Progress(height, head)
		}
	}
	return v.checkConsensusState(head)
}

// checkHeader checks block h against block h-1 (or the genesis) and against the validator
// set and consensus parameters CometBFT stored for h.
func (v *verifier) checkHeader(cur, prev *verified, genesisAppHash []byte) error {
	b, h, gen := cur.block, cur.block.Height, v.h.genesis
	if b.ChainID != v.h.chainID {
		return fail(h, "block", "belongs to chain %q, not %q", b.ChainID, v.h.chainID)
	}
	switch {
	case h == gen.InitialHeight:
		if !b.LastBlockID.IsZero() {
			return fail(h, "block", "the first block names a previous block %v", b.LastBlockID)
		}
		if !bytes.Equal(b.ValidatorsHash, gen.ValidatorHash()) {
			return fail(h, "validators", "the first block's validator set %X is not the genesis set %X", b.ValidatorsHash, gen.ValidatorHash())
		}
		if !bytes.Equal(b.ConsensusHash, gen.ConsensusParams.Hash()) {
			return fail(h, "consensus params", "the first block's parameters %X are not the genesis parameters %X", b.ConsensusHash, gen.ConsensusParams.Hash())
		}
		if genesisAppHash != nil && !bytes.Equal(b.AppHash, genesisAppHash) {
			return fail(h, "app hash", "the first block carries app hash %X but the genesis produces %X", b.AppHash, genesisAppHash)
		}
		if want := sm.TxResultsHash(nil); !bytes.Equal(b.LastResultsHash, want) {
			return fail(h, "results", "the first block carries results hash %X, not that of no results %X", b.LastResultsHash, want)
		}
	case prev != nil:
		p := prev.block
		if !b.LastBlockID.Equals(prev.id) {
			return fail(h, "block", "names previous block %v but block %d is %v", b.LastBlockID, h-1, prev.id)
		}
		if !b.Time.After(p.Time) {
			return fail(h, "block", "time %s is not after block %d's %s", b.Time, h-1, p.Time)
		}
		if !bytes.Equal(b.ValidatorsHash, p.NextValidatorsHash) {
			return fail(h, "validators", "validator set %X is not the one block %d named next (%X)", b.ValidatorsHash, h-1, p.NextValidatorsHash)
		}
		if got, want := b.LastCommit.Hash(), prev.commit.Hash(); !bytes.Equal(got, want) {
			return fail(h, "block", "its last commit hashes to %X, not to the verified commit of block %d (%X)", got, h-1, want)
		}
		if !bytes.Equal(b.AppHash, prev.appHash) {
			return fail(h-1, "app hash", "block %d carries app hash %X but executing block %d gives %X", h, b.AppHash, h-1, prev.appHash)
		}
		if !bytes.Equal(b.LastResultsHash, prev.results) {
			return fail(h-1, "results", "block %d carries results hash %X but block %d's results hash to %X", h, b.LastResultsHash, h-1, prev.results)
		}
	}
	vals, err := v.h.states.validators(h)
	if err != nil {
		return fail(h, "validators", "the stored validator set does not load: %v", err)
	}
	if !bytes.Equal(vals.Hash(), b.ValidatorsHash) {
		return fail(h, "validators", "the stored validator set hashes to %X, the header says %X", vals.Hash(), b.ValidatorsHash)
	}
	cur.vals = vals
	params, err := v.h.states.params(h)
	if err != nil {
		return fail(h, "consensus params", "do not load: %v", err)
	}
	if !bytes.Equal(params.Hash(), b.ConsensusHash) {
		return fail(h, "consensus params", "the stored parameters hash to %X, the header says %X", params.Hash(), b.ConsensusHash)
	}
	// The header hashes only a few parameters: the others must be what the genesis and the
	// executed blocks made them.
	want := params
	switch {
	case h == gen.InitialHeight:
		want = *gen.ConsensusParams
	case prev != nil:
		want = prev.params.Update(prev.updates)
	}
	if got, want := params.ToProto(), want.ToProto(); !got.Equal(&want) {
		return fail(h, "consensus params", "the stored parameters are not the ones the genesis and the blocks set")
	}
	cur.params = params
	return nil
}

// checkCommits verifies the signatures of every commit stored for the block: the copy of the
// next block's LastCommit and the precommits this node saw (the only one for the head).
func (v *verifier) checkCommits(cur *verified, head int64) error {
	h := cur.block.Height
	for _, kind := range []string{"block", "seen"} {
		if kind == "block" && h == head {
			continue // written with the next block
		}
		c, err := loadCommit(v.h.blocks, h, kind)
		if err != nil {
			return fail(h, "commit", "%v", err)
		}
		if c == nil {
			if kind == "seen" && h < head {
				continue // seen commits of old heights may be gone
			}
			return fail(h, "commit", "no %s commit is stored", kind)
		}
		if err := cur.vals.VerifyCommit(v.h.chainID, cur.id, h, c); err != nil {
			return fail(h, "commit", "the stored %s commit does not carry +2/3 valid signatures for block %v: %v", kind, cur.id, err)
		}
		if cur.commit == nil {
			cur.commit = c
		}
	}
	return nil
}

// execute replays the block (unless NoReplay) and checks CometBFT's stored results for it.
func (v *verifier) execute(cur *verified) error {
	h := cur.block.Height
	type outcome struct {
		appHash, results []byte
		updates          *cmtproto.ConsensusParams
		raw              []byte
	}
	var stored *outcome
	if h <= v.cmt.LastBlockHeight {
		res, err := v.h.states.results(h)
		if err != nil {
			return fail(h, "results", "the stored results %v", err)
		}
		raw, _ := res.Marshal()
		stored = &outcome{res.AppHash, sm.TxResultsHash(res.TxResults), res.ConsensusParamUpdates, raw}
	}
	if v.rp == nil {
		if stored == nil {
			return nil // never executed by this node; its app hash is in no header
		}
		cur.appHash, cur.results, cur.updates = stored.appHash, stored.results, stored.updates
		return nil
	}
	res, err := v.rp.block(cur.block)
	if err != nil {
		return fail(h, "replay", "executing the block failed: %v", err)
	}
	cur.appHash, cur.results, cur.updates = res.AppHash, sm.TxResultsHash(res.TxResults), res.ConsensusParamUpdates
	if stored != nil {
		if !stored.updates.Equal(cur.updates) {
			return fail(h, "results", "the stored parameter updates differ from the ones replaying the block makes")
		}
		if !bytes.Equal(stored.results, cur.results) {
			return fail(h, "results", "the stored transaction results hash to %X, replaying the block gives %X", stored.results, cur.results)
		}
		if !bytes.Equal(stored.appHash, cur.appHash) {
			return fail(h, "results", "the stored app hash is %X, replaying the block gives %X", stored.appHash, cur.appHash)
		}
		// Logs and events are not in the results hash, but the node serves them.
		if raw, _ := res.Marshal(); !bytes.Equal(stored.raw, raw) {
			return fail(h, "results", "the stored results (logs, events) differ from the ones replaying the block gives")
		}
	}
	return nil
}

// checkMapVersion checks the state map the node stored for height: structurally always,
// and against the replayed map root when replaying. Checking every height, not only the
// last, finds damage in nodes only older heights use (proofs are built from them) and
// names the height that wrote a damaged node.
func (v *verifier) checkMapVersion(mc *state.MapChecker, height int64) error {
	got, err := mc.Root(height, nil)
	if err != nil {
		return fromDamage(err)
	}
	if v.rp != nil {
		if want := v.rp.view().MapRoot(); !bytes.Equal(got, want) {
			return fail(height, "state map", "the stored state map of height %d hashes to %X, replaying the chain gives %X", height, got, want)
		}
	}
	return nil
}

// checkConsensusState compares CometBFT's stored consensus state with the verified chain.
func (v *verifier) checkConsensusState(head int64) error {
	st := v.cmt
	h := st.LastBlockHeight
	if st.ChainID != v.h.chainID || (h != head && h != head-1) {
		return fail(h, "consensus state", "is for chain %q at height %d, but the block store holds %q up to %d", st.ChainID, h, v.h.chainID, head)
	}
	last := v.recent[h]
	if last == nil {
		return nil // no stored block applied yet (stopped right after the first)
	}
	b := last.block
	next, err := v.h.states.validators(h + 2)
	if err != nil {
		return fail(h, "consensus state", "the validator set stored for height %d: %v", h+2, err)
	}
	nextParams := last.params.Update(last.updates)
	params, want := st.ConsensusParams.ToProto(), nextParams.ToProto()
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{st.LastBlockID.Equals(last.id), "last block ID"},
		{st.LastBlockTime.Equal(b.Time), "last block time"},
		{st.InitialHeight == v.h.genesis.InitialHeight, "initial height"},
		{st.Version.Consensus == b.Version, "protocol version"},
		{last.appHash == nil || bytes.Equal(st.AppHash, last.appHash), "app hash"},
		{last.results == nil || bytes.Equal(st.LastResultsHash, last.results), "results hash"},
		{bytes.Equal(st.LastValidators.Hash(), b.ValidatorsHash), "validator set of the last block"},
		{bytes.Equal(st.Validators.Hash(), b.NextValidatorsHash), "validator set of the next block"},
		{bytes.Equal(st.NextValidators.Hash(), next.Hash()), "validator set after the next block"},
		{params.Equal(&want), "consensus parameters"},
	} {
		if !c.ok {
			return fail(h, "consensus state", "its %s differs from the verified chain's", c.what)
		}
	}
	return nil
}
