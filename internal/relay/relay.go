package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
)

// Relayer keeps the light client ClientID on Target up with Source.
type Relayer struct {
	Source   Source
	Target   Target
	ClientID string
	// Logf, if set, is told of each header relayed and each refusal bisected around.
	Logf func(format string, args ...any)
}

// Result is what one round relayed.
type Result struct {
	From    int64   // the client's latest verified height before the round
	To      int64   // after it
	Relayed []int64 // the heights submitted and verified, in order (pivots first)
}

// Once relays the source's newest header, bisecting when the client cannot verify it in
// one step. A client already at the newest height is left alone.
func (r *Relayer) Once(ctx context.Context) (*Result, error) { return r.RelayTo(ctx, 0) }

// RelayTo relays the source's header of height (0: the newest): a proof of the source's
// state at height h is checked against header h+1, so whoever holds such a proof relays
// h+1 before citing it.
func (r *Relayer) RelayTo(ctx context.Context, height int64) (*Result, error) {
	c, err := r.Target.Client(ctx, r.ClientID)
	if err != nil {
		return nil, fmt.Errorf("light client %s: %w", r.ClientID, err)
	}
	if c.Frozen {
		return nil, interchain.Space.Err(interchain.CodeFrozen, "light client %s was frozen at our height %d (two conflicting headers of %s height %d): it takes no more headers",
			c.ID, c.FrozenAt, c.ChainID, c.FrozenHeight)
	}
	res := &Result{From: c.LatestHeight, To: c.LatestHeight}
	if height != 0 && height <= c.LatestHeight {
		return res, nil
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
	err = r.bisect(ctx, res, lb)
	return res, err
}

// bisect relays target from the client's latest height res.To. When the target chain
// refuses a header because the trusted validators did not sign enough of it (a changed
// validator set), it relays the header half-way between first and tries again from
// there, as CometBFT's light client does; each step trusts the last header verified.
func (r *Relayer) bisect(ctx context.Context, res *Result, target *types.LightBlock) error {
	pending := []*types.LightBlock{target}
	for len(pending) > 0 {
		lb := pending[len(pending)-1]
		raw, err := interchain.EncodeLightBlock(lb)
		if err != nil {
			return fmt.Errorf("header %d: %w", lb.Height, err)
		}
		err = r.Target.Update(ctx, &interchain.UpdateBody{ClientID: r.ClientID, TrustedHeight: res.To, LightBlock: raw})
		switch code(err) {
		case 0:
			if err != nil {
				return fmt.Errorf("relaying header %d from %d: %w", lb.Height, res.To, err)
			}
			r.logf("relayed header %d of %s to client %s (verified from %d)", lb.Height, lb.ChainID, r.ClientID, res.To)
			res.Relayed = append(res.Relayed, lb.Height)
		case interchain.CodeExists: // another relayer was first with the same header
			r.logf("header %d of %s was relayed already", lb.Height, lb.ChainID)
		case interchain.CodeNotTrusted:
			pivot := res.To + (lb.Height-res.To)/2
			if pivot == res.To {
				return fmt.Errorf("header %d does not verify even from the adjacent header %d: %w", lb.Height, res.To, err)
			}
			r.logf("header %d is too far from %d for the trusted validators (%v); relaying %d first", lb.Height, res.To, err, pivot)
			p, perr := r.Source.LightBlock(ctx, pivot)
			if perr != nil {
				return fmt.Errorf("the source's block %d (a bisection pivot): %w", pivot, perr)
			}
			pending = append(pending, p)
			continue
		default:
			return fmt.Errorf("relaying header %d from %d: %w", lb.Height, res.To, err)
		}
		res.To = lb.Height
		pending = pending[:len(pending)-1]
	}
	return nil
}

// Run relays the source's newest header every poll until ctx is done. A failed round is
// logged and retried at the next poll (a node may be down, a block not made yet); a
// client that is frozen or gone ends the run, since no later round can succeed.
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

// fatal: the client cannot take headers from any later round either.
func fatal(err error) bool {
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
