package interchain

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// maxIDLen bounds a client id; CometBFT bounds chain ids at 50 bytes.
const maxIDLen = 64

func checkClientID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("client id must be 1-%d characters, got %d", maxIDLen, len(id))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return fmt.Errorf("client id %q may hold only a-z, 0-9, '-', '.' and '_'", id)
		}
	}
	return nil
}

// ExecCreate creates a client from the registrar's starting light block.
func ExecCreate(st Store, env identity.Env, signer string, b *CreateBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar creates a light client of another chain")
	}
	if err := checkClientID(b.ClientID); err != nil {
		return Space.Err(CodeInvalid, "%v", err)
	}
	switch {
	case b.ChainID == "" || len(b.ChainID) > types.MaxChainIDLen:
		return Space.Err(CodeInvalid, "chain id must be 1-%d bytes, got %d", types.MaxChainIDLen, len(b.ChainID))
	case b.ChainID == env.ChainID:
		return Space.Err(CodeInvalid, "a client follows another chain, not this one (%q)", env.ChainID)
	case b.TrustingPeriod <= 0 || b.TrustingPeriod > MaxTrustingPeriod:
		return Space.Err(CodeInvalid, "trusting period must be above 0 and at most %s, got %s", MaxTrustingPeriod, b.TrustingPeriod)
	case b.MaxClockDrift < 0 || b.MaxClockDrift > time.Hour:
		return Space.Err(CodeInvalid, "max clock drift must be 0 (the default %s) to 1h, got %s", DefaultMaxClockDrift, b.MaxClockDrift)
	case GetClient(st, b.ClientID) != nil:
		return Space.Err(CodeExists, "client %s exists", b.ClientID)
	}
	lb, err := block(&b.lb, b.LightBlock)
	if err != nil {
		return err
	}
	c := &Client{ID: b.ClientID, ChainID: b.ChainID, TrustNumerator: trustLevel1of3.Numerator, TrustDenominator: trustLevel1of3.Denominator,
		TrustingPeriod: b.TrustingPeriod, MaxClockDrift: b.MaxClockDrift, LatestHeight: lb.Height,
		CreatedAt: env.Height, CreatedBy: signer}
	if c.MaxClockDrift == 0 {
		c.MaxClockDrift = DefaultMaxClockDrift
	}
	if err := c.verifyInitial(lb, env.Time); err != nil {
		return err
	}
	if err := storeConsensus(st, c.ID, lb, env.Height); err != nil {
		return Space.Err(CodeInvalid, "validator set does not encode: %v", err)
	}
	st.Set(ClientKey(c.ID), encode(c))
	return nil
}

// ExecUpdate verifies a relayed header from the consensus state at b.TrustedHeight and
// stores its consensus state. The header may be below the client's latest height (a
// fill-in): a proof of the counterparty's state at h is checked against header h+1, which
// a relayer following the newest block may have skipped. A fill-in verifies forward, like
// any header, from a verified height below it; the latest height stays the highest. A
// header that verifies but differs from the one already verified at its height is itself
// proof of misbehaviour: the client is frozen (and the transaction succeeds, so the freeze
// is committed).
func ExecUpdate(st Store, env identity.Env, _ string, b *UpdateBody) *tx.Error {
	c, err := liveClient(st, b.ClientID)
	if err != nil {
		return err
	}
	lb, err := block(&b.lb, b.LightBlock)
	if err != nil {
		return err
	}
	prev := GetConsensus(st, c.ID, lb.Height)
	switch {
	case prev != nil && bytes.Equal(prev.HeaderHash, lb.Hash()):
		return Space.Err(CodeExists, "header %d of %s was verified at our height %d", lb.Height, c.ChainID, prev.VerifiedAt)
	case b.TrustedHeight >= lb.Height:
		return Space.Err(CodeInvalid, "header %d verifies forward from a lower verified height, not from %d", lb.Height, b.TrustedHeight)
	}
	if err := verifyFrom(st, c, b.TrustedHeight, lb, env.Time); err != nil {
		return err
	}
	if prev != nil {
		freeze(st, c, lb.Height, env.Height)
		return nil
	}
	if err := storeConsensus(st, c.ID, lb, env.Height); err != nil {
		return Space.Err(CodeInvalid, "validator set does not encode: %v", err)
	}
	if lb.Height > c.LatestHeight {
		c.LatestHeight = lb.Height
		st.Set(ClientKey(c.ID), encode(c))
	}
	return nil
}

// ExecMisbehaviour freezes a client given two different headers of one height, each
// verified from a consensus state the client trusts.
func ExecMisbehaviour(st Store, env identity.Env, _ string, b *MisbehaviourBody) *tx.Error {
	c, err := liveClient(st, b.ClientID)
	if err != nil {
		return err
	}
	la, err := block(&b.A.lb, b.A.LightBlock)
	if err != nil {
		return err
	}
	lb, err := block(&b.B.lb, b.B.LightBlock)
	if err != nil {
		return err
	}
	switch {
	case la.Height != lb.Height:
		return Space.Err(CodeNoConflict, "headers of heights %d and %d do not conflict", la.Height, lb.Height)
	case bytes.Equal(la.Hash(), lb.Hash()):
		return Space.Err(CodeNoConflict, "both headers are block %X", la.Hash())
	}
	for _, e := range []struct {
		name    string
		trusted int64
		lb      *types.LightBlock
	}{{"a", b.A.TrustedHeight, la}, {"b", b.B.TrustedHeight, lb}} {
		if err := verifyFrom(st, c, e.trusted, e.lb, env.Time); err != nil {
			err.Message = "header " + e.name + ": " + err.Message
			return err
		}
	}
	freeze(st, c, la.Height, env.Height)
	return nil
}

// liveClient loads a client that may still verify.
func liveClient(r tx.Getter, id string) (*Client, *tx.Error) {
	c := GetClient(r, id)
	switch {
	case c == nil:
		return nil, Space.Err(CodeNotFound, "no light client %s", id)
	case c.Frozen:
		return nil, Space.Err(CodeFrozen, "client %s was frozen at our height %d: two conflicting headers of %s height %d verified",
			id, c.FrozenAt, c.ChainID, c.FrozenHeight)
	}
	return c, nil
}

// verifyFrom verifies lb from the client's consensus state at height trusted.
func verifyFrom(r tx.Getter, c *Client, trusted int64, lb *types.LightBlock, now time.Time) *tx.Error {
	cs := GetConsensus(r, c.ID, trusted)
	if cs == nil {
		return Space.Err(CodeUnverified, "client %s never verified a header of height %d to verify from", c.ID, trusted)
	}
	vals := GetValidators(r, c.ID, cs.ValidatorsHash)
	if vals == nil {
		panic(fmt.Errorf("interchain state is corrupt: client %s height %d names validator set %X, which is not stored", c.ID, trusted, cs.ValidatorsHash))
	}
	return c.Verify(cs, vals, lb, now)
}

func freeze(st Store, c *Client, height, ourHeight int64) {
	c.Frozen, c.FrozenAt, c.FrozenHeight = true, ourHeight, height
	st.Set(ClientKey(c.ID), encode(c))
}
