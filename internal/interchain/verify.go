package interchain

import (
	"bytes"
	"errors"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// trustLevel1of3 is the share of the trusted validator power that must sign a header for
// skipping verification: 1/3, the least that includes one correct validator when fewer
// than a third are faulty.
var trustLevel1of3 = light.DefaultTrustLevel

// Verify is the light client's decision on one header: does lb follow, by CometBFT's light
// verification, from consensus state cs (whose validator set is trustedVals) at our block
// time now? It is pure: the same inputs give the same verdict on every validator. The
// cheap checks come first, each with its own code, so a refusal says what was wrong;
// signatures are checked last.
func (c *Client) Verify(cs *Consensus, trustedVals *types.ValidatorSet, lb *types.LightBlock, now time.Time) *tx.Error {
	h := lb.SignedHeader
	if h.ChainID != c.ChainID {
		return Space.Err(CodeWrongChain, "the header is from chain %q; client %s follows %q", h.ChainID, c.ID, c.ChainID)
	}
	if err := h.ValidateBasic(c.ChainID); err != nil {
		return Space.Err(CodeInvalid, "header %d: %v", h.Height, err)
	}
	trusted := c.trusted(cs)
	switch {
	case h.Height <= cs.Height:
		return Space.Err(CodeInvalid, "header %d is not above the trusted height %d", h.Height, cs.Height)
	case light.HeaderExpired(trusted, c.TrustingPeriod, now):
		return Space.Err(CodeExpired, "the trusted header of height %d (time %s) left the trusting period at %s; our block time is %s",
			cs.Height, cs.Time.Format(time.RFC3339Nano), cs.Time.Add(c.TrustingPeriod).Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	case !h.Time.After(cs.Time):
		return Space.Err(CodeInvalid, "header %d has time %s, not after the trusted header's %s",
			h.Height, h.Time.Format(time.RFC3339Nano), cs.Time.Format(time.RFC3339Nano))
	case !h.Time.Before(now.Add(c.MaxClockDrift)):
		return Space.Err(CodeFuture, "header %d has time %s, beyond our block time %s plus the allowed drift %s",
			h.Height, h.Time.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), c.MaxClockDrift)
	case !bytes.Equal(h.ValidatorsHash, lb.ValidatorSet.Hash()):
		return Space.Err(CodeInvalid, "header %d names validator set %X; the one relayed hashes to %X",
			h.Height, h.ValidatorsHash, lb.ValidatorSet.Hash())
	case h.Height == cs.Height+1 && !bytes.Equal(h.ValidatorsHash, cs.NextValsHash):
		return Space.Err(CodeNotTrusted, "header %d is signed by validator set %X; the trusted header %d named %X as next",
			h.Height, h.ValidatorsHash, cs.Height, cs.NextValsHash)
	}
	err := light.Verify(trusted, trustedVals, h, lb.ValidatorSet, c.TrustingPeriod, now, c.MaxClockDrift, c.trustLevel())
	var notTrusted light.ErrNewValSetCantBeTrusted
	var expired light.ErrOldHeaderExpired
	switch {
	case err == nil:
		return nil
	case errors.As(err, &notTrusted):
		return Space.Err(CodeNotTrusted, "header %d: validators trusted at height %d with power %d signed it; more than %d (%d/%d of their power) is needed",
			h.Height, cs.Height, notTrusted.Reason.Got, notTrusted.Reason.Needed, c.TrustNumerator, c.TrustDenominator)
	case errors.As(err, &expired):
		return Space.Err(CodeExpired, "header %d: %v", h.Height, err)
	default:
		return Space.Err(CodeBadCommit, "header %d: the commit does not verify: %v", h.Height, err)
	}
}

// verifyInitial checks the registrar's starting light block as far as it can be checked
// alone: well formed, on the right chain, signed by +2/3 of its own validator set, and
// inside the trusting period. Whether that validator set is the real one is the
// registrar's (subjective) trust.
func (c *Client) verifyInitial(lb *types.LightBlock, now time.Time) *tx.Error {
	h := lb.SignedHeader
	if h.ChainID != c.ChainID {
		return Space.Err(CodeWrongChain, "the header is from chain %q; the client is for %q", h.ChainID, c.ChainID)
	}
	if err := lb.ValidateBasic(c.ChainID); err != nil {
		return Space.Err(CodeInvalid, "header %d: %v", h.Height, err)
	}
	if !h.Time.Add(c.TrustingPeriod).After(now) {
		return Space.Err(CodeExpired, "header %d (time %s) is already outside the trusting period %s at our block time %s",
			h.Height, h.Time.Format(time.RFC3339Nano), c.TrustingPeriod, now.UTC().Format(time.RFC3339Nano))
	}
	if !h.Time.Before(now.Add(c.MaxClockDrift)) {
		return Space.Err(CodeFuture, "header %d has time %s, beyond our block time %s plus the allowed drift %s",
			h.Height, h.Time.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), c.MaxClockDrift)
	}
	if err := lb.ValidatorSet.VerifyCommitLight(c.ChainID, h.Commit.BlockID, h.Height, h.Commit); err != nil {
		return Space.Err(CodeBadCommit, "header %d: the commit does not verify: %v", h.Height, err)
	}
	return nil
}

func (c *Client) trustLevel() cmtmath.Fraction {
	return cmtmath.Fraction{Numerator: c.TrustNumerator, Denominator: c.TrustDenominator}
}
