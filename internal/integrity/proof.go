package integrity

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/merklelog"
	"github.com/ehrchain/ehrchain/internal/state"
)

// ProofFormat names the proof file format.
const ProofFormat = "ehrchain/event-proof/v1"

// Proof ties one audit event to the hash of a block. Hashes are hex in JSON; the event and
// the header are base64, byte for byte as hashed.
type Proof struct {
	Format    string              `json:"format"`
	ChainID   string              `json:"chain_id"`
	Index     uint64              `json:"index"`     // the event's position in the log
	Event     []byte              `json:"event"`     // the log leaf: the event's canonical JSON
	Height    int64               `json:"height"`    // H: the state the proof is taken at
	LogSize   uint64              `json:"log_size"`  // events committed at H
	Inclusion []cmtbytes.HexBytes `json:"inclusion"` // RFC 6962 audit path from the event to LogRoot
	LogRoot   cmtbytes.HexBytes   `json:"log_root"`
	MapRoot   cmtbytes.HexBytes   `json:"map_root"` // root of the state map at H
	AppHash   cmtbytes.HexBytes   `json:"app_hash"` // SHA-256("ehrchain/apphash/v1\0" || MapRoot || LogRoot || LogSize)
	Header    []byte              `json:"header"`   // header of block H+1 (it carries AppHash), protobuf
	BlockHash cmtbytes.HexBytes   `json:"block_hash"`
}

// Kinds of proof rejection; a *ProofError matches exactly one with errors.Is.
var (
	// ErrMalformed: a field is missing, has the wrong size, or does not decode.
	ErrMalformed = errors.New("malformed proof")
	// ErrUntrusted: the block header does not hash to the trusted block hash.
	ErrUntrusted = errors.New("the proof's block header does not hash to the trusted block hash")
	// ErrHeader: the (trusted) header is not the one the proof needs: another chain, another
	// height, another app hash.
	ErrHeader = errors.New("the block header does not match the proof")
	// ErrAppHash: the map root, log root and log size do not hash to the app hash.
	ErrAppHash = errors.New("the proof's roots do not hash to the app hash")
	// ErrInclusion: the event is not at its index in the log of that size and root.
	ErrInclusion = errors.New("the event is not included in the log")
)

// ProofError is why VerifyProof rejected a proof.
type ProofError struct {
	Kind   error // one of the Err* kinds above
	Detail string
	Err    error // the underlying cause, if any (e.g. a *merklelog.ProofError)
}

func (e *ProofError) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns the kind and the cause.
func (e *ProofError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func reject(kind error, cause error, format string, args ...any) *ProofError {
	return &ProofError{Kind: kind, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// VerifyProof checks p against the hash of a block the caller trusts (from its own node,
// another operator, a published checkpoint) and returns the proven event with its Index
// set. It trusts nothing else in p: the header must hash to trustedBlockHash, the header's
// app hash must be the hash of the proof's roots and log size, and the event must be at its
// index in the log with that root. It needs no node.
func VerifyProof(p *Proof, trustedBlockHash []byte) (*audit.Event, error) {
	if p == nil || p.Format != ProofFormat {
		return nil, reject(ErrMalformed, nil, "not an %s proof", ProofFormat)
	}
	if len(trustedBlockHash) != 32 {
		return nil, reject(ErrMalformed, nil, "the trusted block hash has %d bytes, want 32", len(trustedBlockHash))
	}
	for _, f := range []struct {
		name string
		h    []byte
	}{{"log root", p.LogRoot}, {"map root", p.MapRoot}, {"app hash", p.AppHash}, {"block hash", p.BlockHash}} {
		if len(f.h) != 32 {
			return nil, reject(ErrMalformed, nil, "the %s has %d bytes, want 32", f.name, len(f.h))
		}
	}
	// The trust anchor first: the header.
	var ph cmtproto.Header
	if err := ph.Unmarshal(p.Header); err != nil {
		return nil, reject(ErrMalformed, err, "the block header does not decode")
	}
	// Only the canonical encoding: another encoding of the same header would hash the same
	// but is not what a node wrote.
	if canon, err := ph.Marshal(); err != nil || !bytes.Equal(canon, p.Header) {
		return nil, reject(ErrMalformed, nil, "the block header is not canonically encoded")
	}
	h, err := types.HeaderFromProto(&ph)
	if err != nil {
		return nil, reject(ErrMalformed, err, "the block header is invalid")
	}
	hash := h.Hash()
	if !bytes.Equal(hash, trustedBlockHash) {
		return nil, reject(ErrUntrusted, nil, "it hashes to %X, the trusted hash is %X", hash, trustedBlockHash)
	}
	switch {
	case !bytes.Equal(p.BlockHash, hash):
		return nil, reject(ErrHeader, nil, "the proof names block hash %X, its header hashes to %X", p.BlockHash, hash)
	case h.ChainID != p.ChainID:
		return nil, reject(ErrHeader, nil, "the block is on chain %q, the proof on %q", h.ChainID, p.ChainID)
	case p.Height < 1 || h.Height != p.Height+1:
		return nil, reject(ErrHeader, nil, "block %d does not carry the app hash of height %d", h.Height, p.Height)
	case !bytes.Equal(h.AppHash, p.AppHash):
		return nil, reject(ErrHeader, nil, "block %d carries app hash %X, the proof %X", h.Height, h.AppHash, p.AppHash)
	}
	if got := state.AppHash(p.MapRoot, p.LogRoot, p.LogSize); !bytes.Equal(got, p.AppHash) {
		return nil, reject(ErrAppHash, nil, "map root, log root and log size %d hash to %X, not %X", p.LogSize, got, p.AppHash)
	}
	if p.Index >= p.LogSize {
		return nil, reject(ErrInclusion, nil, "event %d is beyond the log's %d events", p.Index, p.LogSize)
	}
	path := make([][]byte, len(p.Inclusion))
	for i, n := range p.Inclusion {
		path[i] = n
	}
	if err := merklelog.VerifyInclusion(p.Index, p.LogSize, p.Event, path, p.LogRoot); err != nil {
		return nil, reject(ErrInclusion, err, "event %d of %d", p.Index, p.LogSize)
	}
	ev, err := audit.Decode(p.Event)
	if err != nil {
		return nil, reject(ErrMalformed, err, "the event does not decode")
	}
	ev.Index = p.Index
	return ev, nil
}

// ErrNotYet is returned by Prove when the app hash that would cover the event is not yet
// in any block header: the chain must produce one more block first.
var ErrNotYet = errors.New("not provable yet")

// ProveOptions tune Prove.
type ProveOptions struct {
	// Height is the state to prove the event in; 0 means the latest height whose app hash a
	// stored block header already carries.
	Height int64
}

// Prove builds the proof of event index from a stopped node's home. It checks the proof
// before returning it: a proof that would not verify is never handed out.
func Prove(home string, index uint64, o ProveOptions) (*Proof, error) {
	h, err := openHome(home)
	if err != nil {
		return nil, err
	}
	defer h.close()
	if h.app == nil || h.app.Commit().Height == 0 {
		return nil, errors.New("the chain has committed no block yet")
	}
	c := h.app.Commit()
	if index >= c.LogSize {
		return nil, fmt.Errorf("event %d does not exist: the log holds %d events", index, c.LogSize)
	}
	log, err := h.app.EventLog()
	if err != nil {
		return nil, err
	}
	heightOf := func(i uint64) (int64, error) {
		leaf, err := log.Leaf(i)
		if err != nil {
			return 0, err
		}
		ev, err := audit.Decode(leaf)
		if err != nil {
			return 0, fmt.Errorf("event %d does not decode: %w", i, err)
		}
		return max(ev.Height, h.genesis.InitialHeight), nil
	}
	committed, err := heightOf(index)
	if err != nil {
		return nil, err
	}
	// The app hash of height H is in the header of block H+1.
	latest := min(c.Height, h.head()-1)
	height := o.Height
	switch {
	case height == 0 && latest < committed:
		return nil, fmt.Errorf("%w: event %d was committed at height %d, whose app hash only the header of block %d will carry; "+
			"the node has stored blocks up to %d: run it until it makes one more block, then retry", ErrNotYet, index, committed, committed+1, h.head())
	case height == 0:
		height = latest
	case height < committed:
		return nil, fmt.Errorf("event %d was committed at height %d, after height %d", index, committed, height)
	case height > latest:
		return nil, fmt.Errorf("%w: the app hash of height %d is in the header of block %d, which this node has not stored (it has blocks up to %d)", ErrNotYet, height, height+1, h.head())
	}
	if first, err := h.app.FirstVersion(); err != nil {
		return nil, err
	} else if height < first {
		return nil, fmt.Errorf("%w: the state of height %d is no longer kept by this node (it keeps heights %d to %d): prove the event at a later height, which proves it as well", state.ErrPruned, height, first, c.Height)
	}
	if base := h.blocks.Base(); height+1 < base {
		return nil, fmt.Errorf("%w: block %d, whose header carries the app hash of height %d, is no longer stored (blocks start at %d): prove the event at a later height, which proves it as well", state.ErrPruned, height+1, height, base)
	}
	// The log size at height: the first event committed after it.
	var searchErr error
	size := uint64(sort.Search(int(c.LogSize), func(i int) bool {
		eh, err := heightOf(uint64(i))
		if err != nil && searchErr == nil {
			searchErr = err
		}
		return eh > height
	}))
	if searchErr != nil {
		return nil, searchErr
	}
	ep, err := h.app.EventProof(index, height, size)
	if err != nil {
		return nil, err
	}
	var meta *types.BlockMeta
	if err := catch(func() { meta = h.blocks.LoadBlockMeta(height + 1) }); err != nil || meta == nil {
		return nil, fmt.Errorf("the header of block %d cannot be read: %v", height+1, err)
	}
	p, err := buildProof(h.chainID, ep, &meta.Header)
	if err != nil {
		return nil, fmt.Errorf("the stored state does not match block %d (run `ehrchain verify`): %w", height+1, err)
	}
	return p, nil
}

// ProveView builds the proof of event index in a live node's committed view; next must be
// the header of block view.Height()+1, which carries the view's app hash.
func ProveView(chainID string, v *state.View, next *types.Header, index uint64) (*Proof, error) {
	ep, err := v.EventProof(index)
	if err != nil {
		return nil, err
	}
	return buildProof(chainID, ep, next)
}

func buildProof(chainID string, ep *state.EventProof, next *types.Header) (*Proof, error) {
	ph := next.ToProto()
	hb, err := ph.Marshal()
	if err != nil {
		return nil, err
	}
	p := &Proof{Format: ProofFormat, ChainID: chainID, Index: ep.Index, Event: ep.Leaf, Height: ep.Height,
		LogSize: ep.LogSize, LogRoot: ep.LogRoot, MapRoot: ep.MapRoot,
		AppHash: state.AppHash(ep.MapRoot, ep.LogRoot, ep.LogSize), Header: hb, BlockHash: next.Hash()}
	for _, n := range ep.Path {
		p.Inclusion = append(p.Inclusion, n)
	}
	if _, err := VerifyProof(p, p.BlockHash); err != nil {
		return nil, err
	}
	return p, nil
}
