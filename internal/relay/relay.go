package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
)

// Relayer keeps the light client ClientID on Target up with Source.
type Relayer struct {
	Source   Source
	Target   Target
	ClientID string
	// Witnesses, if any, are other nodes of the source's chain: each header relayed is
	// compared with theirs first, and a conflicting one that verifies as well is reported as
	// misbehaviour; they also serve the client's own header for a report when the relayer
	// did not keep it (see Reported).
	Witnesses []Source
	// Logf, if set, is told of each header relayed and each step of a bisection.
	Logf func(format string, args ...any)
	// Now is the target chain's time as near as the relayer knows it, against which a
	// report is checked before it is sent, as the target checks it at its block time (nil:
	// the wall clock).
	Now func() time.Time

	kept map[int64]*types.LightBlock // light blocks the client verified, by height (see keep)
}

// Result is what one round relayed.
type Result struct {
	From    int64   // the client's latest verified height before the round
	To      int64   // after it (a fill-in below the latest leaves it)
	Relayed []int64 // the heights submitted and verified, in order (pivots first)
	Refused int     // updates the target chain refused as beyond the trust level (bisected around)
}

// Once relays the source's newest header, bisecting when the client cannot verify it in
// one step. A client already at the newest height is left alone.
func (r *Relayer) Once(ctx context.Context) (*Result, error) { return r.RelayTo(ctx, 0) }

// RelayTo relays the source's header of height (0: the newest): a proof of the source's
// state at height h is checked against header h+1, so whoever holds such a proof relays
// h+1 before citing it. A height below the client's latest is filled in, verified from the
// highest header the client verified below it; one the client holds already is left alone.
func (r *Relayer) RelayTo(ctx context.Context, height int64) (*Result, error) {
	info, err := r.Target.Client(ctx, r.ClientID)
	if err != nil {
		return nil, fmt.Errorf("light client %s: %w", r.ClientID, err)
	}
	c := info.Client
	if c.Frozen {
		return nil, interchain.Space.Err(interchain.CodeFrozen, "light client %s was frozen at our height %d (two conflicting headers of %s height %d): it takes no more headers",
			c.ID, c.FrozenAt, c.ChainID, c.FrozenHeight)
	}
	res := &Result{From: c.LatestHeight, To: c.LatestHeight}
	if height < 0 {
		return res, fmt.Errorf("height must be 0 (the newest) or above, got %d", height)
	}
	if height != 0 && height <= c.LatestHeight {
		return res, r.fillIn(ctx, res, c, height)
	}
	lb, err := r.Source.LightBlock(ctx, height)
	if err != nil {
		return res, fmt.Errorf("the source's block %d: %w", height, err)
	}
	if lb.ChainID != c.ChainID {
		return res, fmt.Errorf("the source serves chain %q; client %s follows %q", lb.ChainID, c.ID, c.ChainID)
	}
	if lb.Height <= c.LatestHeight {
		return res, nil
	}
	a, err := r.anchorAt(ctx, c, info.Latest, c.LatestHeight)
	if err != nil {
		return res, err
	}
	err = r.bisect(ctx, res, c, a, lb)
	return res, err
}

// fillIn relays header height, below the client's latest, from the highest header the
// client verified below it. A relayer following the newest block skips heights, and a
// proof of the source's state at h needs header h+1 in particular.
func (r *Relayer) fillIn(ctx context.Context, res *Result, c *interchain.Client, height int64) error {
	below, err := r.Target.Below(ctx, c.ID, height+1)
	if err != nil {
		return fmt.Errorf("light client %s below height %d: %w", c.ID, height+1, err)
	}
	switch {
	case below == nil:
		return interchain.Space.Err(interchain.CodeUnverified, "light client %s verified no header below %d to verify it from (it was created above it)", c.ID, height)
	case below.Height == height:
		return nil // verified already
	}
	lb, err := r.Source.LightBlock(ctx, height)
	if err != nil {
		return fmt.Errorf("the source's block %d: %w", height, err)
	}
	if lb.ChainID != c.ChainID {
		return fmt.Errorf("the source serves chain %q; client %s follows %q", lb.ChainID, c.ID, c.ChainID)
	}
	a, err := r.anchorAt(ctx, c, below, below.Height)
	if err != nil {
		return err
	}
	r.logf("filling in header %d of %s below client %s's latest %d, from %d", height, c.ChainID, c.ID, c.LatestHeight, below.Height)
	return r.bisect(ctx, res, c, a, lb)
}

func trustOf(c *interchain.Client) cmtmath.Fraction {
	return cmtmath.Fraction{Numerator: c.TrustNumerator, Denominator: c.TrustDenominator}
}

// anchor is the client's newest verified header as the relayer knows it: its height and,
// when the source still serves that block, the block itself, whose validators the
// relayer counts to choose pivots before spending a transaction.
type anchor struct {
	height int64
	lb     *types.LightBlock // nil: not served (pruned); the target chain's refusals guide
}

// anchorAt is the anchor of the client's verified header of height (cs, nil if unknown).
// A source whose block at that height is another block than the one the client verified
// is on another fork (or is another chain's node): the relayer stops rather than feed a
// client from it, and reports the conflict as misbehaviour when its block is signed well
// enough for the target to accept the report (see forked).
func (r *Relayer) anchorAt(ctx context.Context, c *interchain.Client, cs *interchain.Consensus, height int64) (anchor, error) {
	a := anchor{height: height}
	lb, err := r.Source.LightBlock(ctx, a.height)
	if err != nil {
		r.logf("the source does not serve the trusted block %d (%v): bisecting by the target chain's refusals", a.height, err)
		return a, nil
	}
	if cs != nil && !bytes.Equal(lb.Hash(), cs.HeaderHash) {
		return a, r.forked(ctx, c, cs, lb)
	}
	if cs != nil {
		r.keep(lb)
	}
	a.lb = lb
	return a, nil
}

// reachable is the relayer's own guess whether lb can verify skipping from a: whether the
// validators of a signed at least the trust level of their power in lb's commit, the test
// CometBFT's light.Verify applies (and the one that fails when too many validators
// changed). It errs towards submitting: only a definite shortfall says no. The target
// chain's verdict is the one that counts.
func reachable(a anchor, lb *types.LightBlock, trust cmtmath.Fraction) bool {
	if a.lb == nil || lb.Height == a.height+1 {
		return true
	}
	err := a.lb.ValidatorSet.VerifyCommitLightTrusting(lb.ChainID, lb.Commit, trust)
	var short types.ErrNotEnoughVotingPowerSigned
	return !errors.As(err, &short)
}

// bisect relays target from the anchor. When a header is too far from the trusted one for
// the trusted validators to vouch for it (a changed validator set), it relays the header
// half-way between first and tries again from there, as CometBFT's light client does;
// each step trusts the last header verified. The relayer's own count of the trusted
// power picks the pivots; a refusal by the target chain (code 8) does too, when the
// relayer could not count. With witnesses, each header is cross-checked with theirs
// before it is submitted (crossCheck).
func (r *Relayer) bisect(ctx context.Context, res *Result, c *interchain.Client, a anchor, target *types.LightBlock) error {
	trust := trustOf(c)
	pending := []*types.LightBlock{target}
	for len(pending) > 0 {
		lb := pending[len(pending)-1]
		var err error
		if !reachable(a, lb, trust) {
			err = interchain.Space.Err(interchain.CodeNotTrusted, "the validators of header %d hold under %d/%d of header %d's signed power", a.height, trust.Numerator, trust.Denominator, lb.Height)
		} else {
			if xerr := r.crossCheck(ctx, c, a, lb); xerr != nil {
				return xerr
			}
			raw, eerr := interchain.EncodeLightBlock(lb)
			if eerr != nil {
				return fmt.Errorf("header %d: %w", lb.Height, eerr)
			}
			err = r.Target.Update(ctx, &interchain.UpdateBody{ClientID: r.ClientID, TrustedHeight: a.height, LightBlock: raw})
			if code(err) == interchain.CodeNotTrusted {
				res.Refused++
			}
		}
		switch code(err) {
		case 0:
			if err != nil {
				return fmt.Errorf("relaying header %d from %d: %w", lb.Height, a.height, err)
			}
			r.logf("relayed header %d of %s to client %s (verified from %d)", lb.Height, lb.ChainID, r.ClientID, a.height)
			res.Relayed = append(res.Relayed, lb.Height)
		case interchain.CodeExists: // another relayer was first with the same header
			r.logf("header %d of %s was relayed already", lb.Height, lb.ChainID)
		case interchain.CodeNotTrusted:
			pivot := a.height + (lb.Height-a.height)/2
			if pivot == a.height {
				return fmt.Errorf("header %d does not verify even from the adjacent header %d: %w", lb.Height, a.height, err)
			}
			r.logf("header %d is too far from %d (%v); relaying %d first", lb.Height, a.height, err, pivot)
			p, perr := r.Source.LightBlock(ctx, pivot)
			if perr != nil {
				return fmt.Errorf("the source's block %d (a bisection pivot): %w", pivot, perr)
			}
			pending = append(pending, p)
			continue
		default:
			return fmt.Errorf("relaying header %d from %d: %w", lb.Height, a.height, err)
		}
		r.keep(lb)
		a = anchor{height: lb.Height, lb: lb}
		res.To = max(res.To, lb.Height)
		pending = pending[:len(pending)-1]
	}
	return nil
}

// Run relays the source's newest header every poll until ctx is done. A failed round is
// logged and retried at the next poll (a node may be down, a block not made yet); a
// client that is frozen (by the relayer's own report, or before), gone or expired ends
// the run, since no later round can succeed.
func (r *Relayer) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("poll interval must be above 0, got %s", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Once(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fatal(err) {
				return err
			}
			r.logf("round failed, retrying in %s: %v", every, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// fatal: the client cannot take headers from any later round either (a report made
// froze it).
func fatal(err error) bool {
	if reported(err) {
		return true
	}
	switch code(err) {
	case interchain.CodeFrozen, interchain.CodeNotFound, interchain.CodeWrongChain, interchain.CodeExpired:
		return true
	}
	return false
}

func (r *Relayer) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}
