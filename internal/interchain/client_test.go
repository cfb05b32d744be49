package interchain_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
)

func TestCreate(t *testing.T) {
	expired := header(1)
	expired.Time = t0.Add(-period)
	half := header(1)
	half.Signers = vals.Take(0, 2)
	cases := []struct {
		name   string
		signer string
		body   func() *interchain.CreateBody
		code   uint32
	}{
		{"by a provider", "provider", func() *interchain.CreateBody { return createBody(sign(header(1))) }, interchain.CodeUnauthorized},
		{"header of another chain than named", "registrar", func() *interchain.CreateBody {
			b := createBody(sign(header(1)))
			b.ChainID = "other-chain"
			return b
		}, interchain.CodeWrongChain},
		{"for our own chain", "registrar", func() *interchain.CreateBody {
			b := createBody(sign(header(1)))
			b.ChainID = ourChain
			return b
		}, interchain.CodeInvalid},
		{"no trusting period", "registrar", func() *interchain.CreateBody {
			b := createBody(sign(header(1)))
			b.TrustingPeriod = 0
			return b
		}, interchain.CodeInvalid},
		{"bad client id", "registrar", func() *interchain.CreateBody {
			b := createBody(sign(header(1)))
			b.ClientID = "Supply/1"
			return b
		}, interchain.CodeInvalid},
		{"header already outside the trusting period", "registrar", func() *interchain.CreateBody { return createBody(sign(expired)) }, interchain.CodeExpired},
		{"header signed by half its validators", "registrar", func() *interchain.CreateBody { return createBody(sign(half)) }, interchain.CodeBadCommit},
		{"valid", "registrar", func() *interchain.CreateBody { return createBody(sign(header(1))) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOurs(t)
			signer := registrar
			if c.signer != "registrar" {
				signer = relayer
			}
			wantCode(t, c.name, o.create(signer, c.body()), c.code)
			got := o.client()
			if c.code != 0 {
				if got != nil {
					t.Fatalf("a refused creation left client %+v", got)
				}
				return
			}
			if got == nil || got.ChainID != chainB || got.LatestHeight != 1 || got.Frozen ||
				got.TrustNumerator != 1 || got.TrustDenominator != 3 || got.MaxClockDrift != interchain.DefaultMaxClockDrift {
				t.Fatalf("client after creation: %+v", got)
			}
			cs := interchain.GetConsensus(o.st.Committed(), clientID, 1)
			if cs == nil || !bytes.Equal(cs.AppHash, header(1).AppHash) {
				t.Fatalf("consensus state of height 1: %+v", cs)
			}
			wantCode(t, "the same id again", o.create(registrar, c.body()), interchain.CodeExists)
		})
	}
}

// TestUpdateVerifies follows the counterparty adjacently, then skipping, then across a
// change of validator set that keeps half of the trusted power.
func TestUpdateVerifies(t *testing.T) {
	o := withClient(t)
	wantCode(t, "adjacent header 2", o.update(1, sign(header(2))), 0)
	h10 := header(10)
	newVals := vals.Take(0, 2).Join(interchaintest.NewSet("w", 2, 10))
	h10.Next = newVals
	wantCode(t, "skipping to header 10", o.update(2, sign(h10)), 0)
	h20 := header(20)
	h20.Vals = newVals
	wantCode(t, "skipping to header 20, half the trusted power kept", o.update(10, sign(h20)), 0)
	h21 := header(21)
	h21.Vals = newVals
	wantCode(t, "adjacent header 21 of the new set", o.update(20, sign(h21)), 0)
	c := o.client()
	if c.LatestHeight != 21 || c.Frozen {
		t.Fatalf("client after updates: %+v", c)
	}
	for _, h := range []int64{1, 2, 10, 20, 21} {
		cs := interchain.GetConsensus(o.st.Committed(), clientID, h)
		if cs == nil || !bytes.Equal(cs.AppHash, []byte{byte(h), 0xab}) || !cs.Time.Equal(header(h).Time) {
			t.Fatalf("consensus state of height %d: %+v", h, cs)
		}
	}
	wantCode(t, "header 21 again", o.update(20, sign(h21)), interchain.CodeExists)
	wantCode(t, "header 15, below the latest, from above it", o.update(21, sign(header(15))), interchain.CodeInvalid)
}

// TestUpdateRefusals tries to get a header past the light client in every way the client
// must refuse, each from a fresh client trusting header 1, and checks nothing was stored.
func TestUpdateRefusals(t *testing.T) {
	impostors := interchaintest.NewSet("evil", 4, 10)
	cases := []struct {
		name    string
		trusted int64
		block   func() *types.LightBlock
		now     time.Duration // added to our block time
		code    uint32
	}{
		{"signed by less than a third of the trusted power", 1, func() *types.LightBlock {
			h := header(5) // 10 of the 40 trusted power is in the new set, which signs in full
			h.Vals = vals.Take(0, 1).Join(interchaintest.NewSet("w", 3, 10))
			return sign(h)
		}, 0, interchain.CodeNotTrusted},
		{"skipping, signed by a third of the trusted power but not 2/3 of its own", 1, func() *types.LightBlock {
			h := header(5)
			h.Signers = vals.Take(0, 2)
			return sign(h)
		}, 0, interchain.CodeBadCommit},
		{"adjacent, signed by half of its validators", 1, func() *types.LightBlock {
			h := header(2)
			h.Signers = vals.Take(0, 2)
			return sign(h)
		}, 0, interchain.CodeBadCommit},
		{"a header of another chain", 1, func() *types.LightBlock {
			h := header(5)
			h.ChainID = "other-chain"
			return sign(h)
		}, 0, interchain.CodeWrongChain},
		{"another chain's header relabelled as ours", 1, func() *types.LightBlock {
			h := header(5)
			h.ChainID = "other-chain"
			lb := sign(h)
			lb.Header.ChainID = chainB
			return lb
		}, 0, interchain.CodeInvalid},
		{"outside the trusting period by our block time", 1, func() *types.LightBlock { return sign(header(5)) },
			period, interchain.CodeExpired},
		{"forged commit: one signature altered", 1, func() *types.LightBlock {
			lb := sign(header(5))
			lb.Commit.Signatures[0].Signature[7] ^= 1
			return lb
		}, 0, interchain.CodeBadCommit},
		{"forged commit: signatures moved to another block", 1, func() *types.LightBlock {
			lb := sign(header(5))
			other := header(5)
			other.AppHash = []byte("another state")
			olb := sign(other)
			for i := range lb.Commit.Signatures {
				lb.Commit.Signatures[i].Signature = olb.Commit.Signatures[i].Signature
			}
			return lb
		}, 0, interchain.CodeBadCommit},
		{"impostor validators, skipping", 1, func() *types.LightBlock {
			h := header(5)
			h.Vals = impostors
			return sign(h)
		}, 0, interchain.CodeNotTrusted},
		{"impostor validators, adjacent", 1, func() *types.LightBlock {
			h := header(2)
			h.Vals = impostors
			return sign(h)
		}, 0, interchain.CodeNotTrusted},
		{"relayed validator set is not the header's", 1, func() *types.LightBlock {
			lb := sign(header(5))
			lb.ValidatorSet = impostors.Validators()
			return lb
		}, 0, interchain.CodeInvalid},
		{"header from the future", 1, func() *types.LightBlock {
			h := header(5)
			h.Time = t0.Add(time.Hour + time.Minute) // our block time is t0+1h, drift 10 s
			return sign(h)
		}, 0, interchain.CodeFuture},
		{"header not after the trusted one", 1, func() *types.LightBlock {
			h := header(5)
			h.Time = t0
			return sign(h)
		}, 0, interchain.CodeInvalid},
		{"from a height never verified", 3, func() *types.LightBlock { return sign(header(5)) }, 0, interchain.CodeUnverified},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := withClient(t)
			o.now = o.now.Add(c.now)
			lb := c.block()
			wantCode(t, c.name, o.update(c.trusted, lb), c.code)
			if got := o.client(); got.LatestHeight != 1 || got.Frozen {
				t.Fatalf("a refused header moved the client: %+v", got)
			}
			if cs := interchain.GetConsensus(o.st.Committed(), clientID, lb.Height); cs != nil {
				t.Fatalf("a refused header left a consensus state: %+v", cs)
			}
		})
	}
	t.Run("unknown client", func(t *testing.T) {
		o := newOurs(t)
		wantCode(t, "unknown client", o.update(1, sign(header(2))), interchain.CodeNotFound)
	})
}

func TestMisbehaviourFreezes(t *testing.T) {
	o := withClient(t)
	wantCode(t, "header 2", o.update(1, sign(header(2))), 0)
	honest, forked := header(5), header(5)
	forked.AppHash = []byte("a forked state")
	wantCode(t, "two signed headers of height 5", o.misbehaviour(1, sign(honest), 2, sign(forked)), 0)
	c := o.client()
	if !c.Frozen || c.FrozenHeight != 5 || c.FrozenAt != o.height {
		t.Fatalf("client after misbehaviour: %+v", c)
	}
	wantCode(t, "update of a frozen client", o.update(2, sign(header(6))), interchain.CodeFrozen)
	wantCode(t, "misbehaviour of a frozen client", o.misbehaviour(1, sign(honest), 2, sign(forked)), interchain.CodeFrozen)
	p := &interchain.StateProof{Height: 1}
	wantCode(t, "proof against a frozen client", interchain.VerifyState(o.st.Committed(), clientID, p, []byte("k"), []byte("v")), interchain.CodeFrozen)
}

// TestConflictingUpdateFreezes: a relayed header that verifies but differs from the one
// already verified at its height is misbehaviour too.
func TestConflictingUpdateFreezes(t *testing.T) {
	o := withClient(t)
	wantCode(t, "header 5", o.update(1, sign(header(5))), 0)
	forked := header(5)
	forked.AppHash = []byte("a forked state")
	wantCode(t, "a conflicting header 5", o.update(1, sign(forked)), 0)
	if c := o.client(); !c.Frozen || c.FrozenHeight != 5 {
		t.Fatalf("client after a conflicting update: %+v", c)
	}
	if cs := interchain.GetConsensus(o.st.Committed(), clientID, 5); !bytes.Equal(cs.AppHash, header(5).AppHash) {
		t.Fatalf("the conflicting header replaced the verified one: %+v", cs)
	}
}

func TestMisbehaviourRefusals(t *testing.T) {
	forked := header(5)
	forked.AppHash = []byte("a forked state")
	weak := forked
	weak.Signers = vals.Take(0, 1)
	other := forked
	other.ChainID = "other-chain"
	cases := []struct {
		name string
		a, b interchaintest.Header
		code uint32
	}{
		{"the same header twice", header(5), header(5), interchain.CodeNoConflict},
		{"headers of two heights", header(5), header(6), interchain.CodeNoConflict},
		{"the second signed by a quarter of the validators", header(5), weak, interchain.CodeNotTrusted},
		{"the second from another chain", header(5), other, interchain.CodeWrongChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := withClient(t)
			wantCode(t, c.name, o.misbehaviour(1, sign(c.a), 1, sign(c.b)), c.code)
			if o.client().Frozen {
				t.Fatal("a refused misbehaviour report froze the client")
			}
		})
	}
	t.Run("from a height never verified", func(t *testing.T) {
		o := withClient(t)
		wantCode(t, "unverified", o.misbehaviour(1, sign(header(5)), 3, sign(forked)), interchain.CodeUnverified)
	})
}
