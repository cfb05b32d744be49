package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
)

// keepBlocks bounds the light blocks a relayer keeps (see kept): a conflict is found at the
// client's latest height or at the height a fill-in verifies from, both recent.
const keepBlocks = 64

// A relayer that meets a header conflicting with one the client verified reports it (tx
// 102), which freezes the client. The report carries both headers signed, each verified
// from a header the client trusts; but chain A keeps of a verified header only its hashes
// (interchain.Consensus) and its validator set, not the header's other fields nor its
// commit, so the client's own header cannot be rebuilt from A's state. The relayer keeps
// the light blocks it saw the client verify, in memory (the newest keepBlocks): that
// covers a source that forks under a running relayer. A relayer started after the fork,
// or one that did not relay the header itself, takes it from a witness (Relayer.Witnesses,
// `relay --witness`), another node of the chain, as CometBFT's light client keeps
// witnesses. No file: it would be one more store to keep and to trust across restarts for
// what the chain's honest nodes serve anyway. No copy is trusted: it is used only if its
// hash is the one the client verified, and A checks the report again.

// Reported ends relaying: the relayer reported misbehaviour and the client is frozen.
type Reported struct {
	ClientID, ChainID string
	Height            int64  // the counterparty height with two headers
	Trusted           int64  // the verified height both were checked from
	A, B              []byte // the two block hashes
	Of, Other         string // whose A and B are: "the client", "the source", "witness N"
}

func (e *Reported) Error() string {
	return fmt.Sprintf("light client %s is frozen: %s header %d is %X from %s and %X from %s, both signed by enough of the validators the client trusted at %d; misbehaviour reported (tx 102), relaying stopped",
		e.ClientID, e.ChainID, e.Height, e.A, e.Of, e.B, e.Other, e.Trusted)
}

func (r *Relayer) keep(lb *types.LightBlock) {
	if r.kept == nil {
		r.kept = map[int64]*types.LightBlock{}
	}
	r.kept[lb.Height] = lb
	if len(r.kept) > keepBlocks {
		low := lb.Height
		for h := range r.kept {
			low = min(low, h)
		}
		delete(r.kept, low)
	}
}

func (r *Relayer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// forked is the end of relaying from a source whose block lb, at a height the client
// verified (cs), is another block: a report of misbehaviour when lb is signed well enough
// for A to accept it, else a plain stop. A block of another chain, an unsigned or
// under-signed one, or one of another network of the same chain id is no misbehaviour of
// the counterparty: A would refuse the report, so none is sent.
func (r *Relayer) forked(ctx context.Context, c *interchain.Client, cs *interchain.Consensus, lb *types.LightBlock) error {
	stop := fmt.Sprintf("the source's block %d is %X, but client %s verified %X: the source is on another fork or another chain; relaying stopped",
		cs.Height, lb.Hash(), c.ID, cs.HeaderHash)
	body, why := r.forkReport(ctx, c, cs, lb)
	if body == nil {
		return fmt.Errorf("%s; no misbehaviour reported: %s", stop, why)
	}
	return r.report(ctx, c, body, "the client", "the source")
}

// forkReport is the report of lb against the client's verified header cs, or why there is
// none.
func (r *Relayer) forkReport(ctx context.Context, c *interchain.Client, cs *interchain.Consensus, lb *types.LightBlock) (*interchain.MisbehaviourBody, string) {
	trusted, err := r.Target.Below(ctx, c.ID, cs.Height)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("the client's header below %d: %v", cs.Height, err)
	case trusted == nil:
		return nil, fmt.Sprintf("the client verified no header below %d to check a report from (it was created at that height)", cs.Height)
	}
	vals := r.validatorsOf(ctx, trusted, lb)
	if vals == nil {
		return nil, fmt.Sprintf("no node at hand serves the validator set %X the client trusted at %d", trusted.ValidatorsHash, trusted.Height)
	}
	if err := c.Verify(trusted, vals, lb, r.now()); err != nil {
		return nil, fmt.Sprintf("the source's block does not verify from the client's header %d, so chain A would refuse the report: %v", trusted.Height, err)
	}
	verified := r.copyOf(ctx, cs)
	if verified == nil {
		return nil, fmt.Sprintf("the source's block verifies from the client's header %d, but no copy of the client's own header %d is at hand to report it with (a relayer keeps the headers it relayed since it started; --witness names another node of %s that serves it)",
			trusted.Height, cs.Height, c.ChainID)
	}
	body, err := evidence(c, trusted, vals, verified, lb, r.now())
	if err != nil {
		return nil, err.Error()
	}
	return body, ""
}

// copyOf is the client's verified header cs as a light block: the one the relayer kept,
// or a witness's block of that height, whichever hashes to the block the client verified.
func (r *Relayer) copyOf(ctx context.Context, cs *interchain.Consensus) *types.LightBlock {
	if lb := r.kept[cs.Height]; lb != nil && bytes.Equal(lb.Hash(), cs.HeaderHash) {
		return lb
	}
	for i, w := range r.Witnesses {
		lb, err := w.LightBlock(ctx, cs.Height)
		switch {
		case err != nil:
			r.logf("witness %d does not serve block %d: %v", i, cs.Height, err)
		case bytes.Equal(lb.Hash(), cs.HeaderHash):
			return lb
		default:
			r.logf("witness %d's block %d is %X, not the client's %X either", i, cs.Height, lb.Hash(), cs.HeaderHash)
		}
	}
	return nil
}

// validatorsOf is the validator set of the client's verified header cs, which it names by
// hash: from a light block at hand, or any node's block of that height. The hash decides,
// so whoever serves the set is not trusted.
func (r *Relayer) validatorsOf(ctx context.Context, cs *interchain.Consensus, have ...*types.LightBlock) *types.ValidatorSet {
	match := func(lb *types.LightBlock) bool {
		return lb != nil && bytes.Equal(lb.ValidatorSet.Hash(), cs.ValidatorsHash)
	}
	for _, lb := range have {
		if match(lb) {
			return lb.ValidatorSet
		}
	}
	for _, lb := range r.kept { // any match is the same set
		if match(lb) {
			return lb.ValidatorSet
		}
	}
	for _, s := range append([]Source{r.Source}, r.Witnesses...) {
		if lb, err := s.LightBlock(ctx, cs.Height); err == nil && match(lb) {
			return lb.ValidatorSet
		}
	}
	return nil
}

// evidence is the report of a and b, both verified from the client's consensus state
// trusted (whose validator set is vals), if ExecMisbehaviour would accept it at time now:
// its checks, in its order, with the light client's own pure verification.
func evidence(c *interchain.Client, trusted *interchain.Consensus, vals *types.ValidatorSet, a, b *types.LightBlock, now time.Time) (*interchain.MisbehaviourBody, error) {
	switch {
	case c.Frozen:
		return nil, interchain.Space.Err(interchain.CodeFrozen, "client %s is frozen already", c.ID)
	case a.Height != b.Height:
		return nil, interchain.Space.Err(interchain.CodeNoConflict, "headers of heights %d and %d do not conflict", a.Height, b.Height)
	case bytes.Equal(a.Hash(), b.Hash()):
		return nil, interchain.Space.Err(interchain.CodeNoConflict, "both headers are block %X", a.Hash())
	}
	body := &interchain.MisbehaviourBody{ClientID: c.ID}
	for _, e := range []struct {
		name string
		lb   *types.LightBlock
		ev   *interchain.Evidence
	}{{"a", a, &body.A}, {"b", b, &body.B}} {
		if err := c.Verify(trusted, vals, e.lb, now); err != nil {
			return nil, fmt.Errorf("header %s does not verify from %d: %w", e.name, trusted.Height, err)
		}
		raw, err := interchain.EncodeLightBlock(e.lb)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", e.name, err)
		}
		*e.ev = interchain.Evidence{TrustedHeight: trusted.Height, LightBlock: raw}
	}
	return body, nil
}

// report submits body and ends relaying: with *Reported once the client is frozen.
func (r *Relayer) report(ctx context.Context, c *interchain.Client, body *interchain.MisbehaviourBody, of, other string) error {
	a, _ := interchain.ParseLightBlock(body.A.LightBlock)
	b, _ := interchain.ParseLightBlock(body.B.LightBlock)
	rep := &Reported{ClientID: c.ID, ChainID: c.ChainID, Height: a.Height, Trusted: body.A.TrustedHeight, A: a.Hash(), B: b.Hash(), Of: of, Other: other}
	r.logf("%s header %d is %X from %s and %X from %s: reporting misbehaviour to client %s", c.ChainID, rep.Height, rep.A, of, rep.B, other, c.ID)
	if err := r.Target.Misbehaviour(ctx, body); err != nil {
		if code(err) == interchain.CodeFrozen {
			r.logf("light client %s was frozen before our report: %v", c.ID, err)
			return err
		}
		return fmt.Errorf("reporting misbehaviour of %s header %d to client %s: %w", c.ChainID, rep.Height, c.ID, err)
	}
	r.logf("%v", rep)
	return rep
}

// crossCheck compares lb, about to be relayed from anchor a, with each witness's block of
// its height (CometBFT's light client detector): a witness serving another block that
// verifies from a as well is misbehaviour, reported; one whose block does not verify is
// logged and ignored, as is a witness that does not answer.
func (r *Relayer) crossCheck(ctx context.Context, c *interchain.Client, a anchor, lb *types.LightBlock) error {
	for i, w := range r.Witnesses {
		wlb, err := w.LightBlock(ctx, lb.Height)
		if err != nil {
			r.logf("witness %d does not serve block %d: %v", i, lb.Height, err)
			continue
		}
		if bytes.Equal(wlb.Hash(), lb.Hash()) {
			continue
		}
		trusted, err := r.Target.Below(ctx, c.ID, a.height+1)
		if err != nil || trusted == nil || trusted.Height != a.height {
			return fmt.Errorf("witness %d's block %d is %X, the source's %X; the client's header %d to check them from: %v", i, lb.Height, wlb.Hash(), lb.Hash(), a.height, err)
		}
		vals := r.validatorsOf(ctx, trusted, a.lb, lb, wlb)
		var body *interchain.MisbehaviourBody
		if vals != nil {
			body, err = evidence(c, trusted, vals, lb, wlb, r.now())
		} else {
			err = fmt.Errorf("no node at hand serves the validator set %X the client trusted at %d", trusted.ValidatorsHash, trusted.Height)
		}
		if err != nil {
			r.logf("witness %d's block %d is %X, the source's %X; no misbehaviour reported: %v", i, lb.Height, wlb.Hash(), lb.Hash(), err)
			continue
		}
		return r.report(ctx, c, body, "the source", fmt.Sprintf("witness %d", i))
	}
	return nil
}

// reported: err ends relaying with a report made.
func reported(err error) bool {
	var rep *Reported
	return errors.As(err, &rep)
}
