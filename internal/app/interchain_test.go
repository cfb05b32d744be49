package app

import (
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// counterpartyHeader is block height of chain "supply-1", signed by vals, timed a minute
// before our genesis plus one second per block so it is never ahead of our block time.
func counterpartyHeader(vals *interchaintest.Set, height int64, appHash string) interchaintest.Header {
	return interchaintest.Header{ChainID: "supply-1", Height: height, Time: genesisTime.Add(-time.Minute + time.Duration(height)*time.Second),
		AppHash: []byte(appHash), Vals: vals}
}

func lightBlock(t testing.TB, h interchaintest.Header) []byte {
	t.Helper()
	b, err := interchain.EncodeLightBlock(interchaintest.Sign(h))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInterchainReplay runs light clients through the app: creation by the registrar,
// adjacent and skipping updates relayed by a provider, refused headers, and a misbehaviour
// report that freezes one client; then replays every block into fresh states and compares
// the app hash at every height.
func TestInterchainReplay(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	vals := interchaintest.NewSet("supply", 4, 10)
	create := func(id string) *interchain.CreateBody {
		return &interchain.CreateBody{ClientID: id, ChainID: "supply-1", TrustingPeriod: 7 * 24 * time.Hour,
			LightBlock: lightBlock(t, counterpartyHeader(vals, 1, "state 0"))}
	}
	update := func(id string, trusted int64, hd interchaintest.Header) *interchain.UpdateBody {
		return &interchain.UpdateBody{ClientID: id, TrustedHeight: trusted, LightBlock: lightBlock(t, hd)}
	}
	h.mustOK(h.sign(h.reg, create("supply")), h.sign(h.reg, create("supply-watch")))
	h.mustOK(h.sign(c.provider, update("supply", 1, counterpartyHeader(vals, 2, "state 1"))))
	h.mustOK(h.sign(c.provider, update("supply", 2, counterpartyHeader(vals, 9, "state 8"))))

	weak := counterpartyHeader(vals, 12, "state 11")
	weak.Signers = vals.Take(0, 1)
	other := counterpartyHeader(vals, 12, "state 11")
	other.ChainID = "other-chain"
	forked := counterpartyHeader(vals, 12, "a fork")
	// A refused transaction consumes no sequence number.
	refuse := func(what string, body tx.Body, want uint32) {
		t.Helper()
		r := h.block(h.sign(c.provider, body))[0]
		h.seqs[c.provider.ID]--
		if r.Code != want || r.Codespace != string(interchain.Space) {
			t.Fatalf("%s: got %s/%d %s, want %s/%d", what, r.Codespace, r.Code, r.Log, interchain.Space, want)
		}
	}
	refuse("creation by a provider", create("by-a-provider"), interchain.CodeUnauthorized)
	refuse("header signed by a quarter of the trusted power", update("supply", 9, weak), interchain.CodeNotTrusted)
	refuse("header of another chain", update("supply", 9, other), interchain.CodeWrongChain)
	h.mustOK(
		h.sign(c.provider, &interchain.MisbehaviourBody{ClientID: "supply-watch",
			A: interchain.Evidence{TrustedHeight: 1, LightBlock: lightBlock(t, counterpartyHeader(vals, 12, "state 11"))},
			B: interchain.Evidence{TrustedHeight: 1, LightBlock: lightBlock(t, forked)}}),
		h.sign(c.provider, update("supply", 9, counterpartyHeader(vals, 12, "state 11"))),
	)
	refuse("update of a frozen client", update("supply-watch", 1, counterpartyHeader(vals, 13, "state 12")), interchain.CodeFrozen)
	v := h.st.Committed()
	if cl := interchain.GetClient(v, "supply"); cl == nil || cl.LatestHeight != 12 || cl.Frozen {
		t.Fatalf("client supply: %+v", cl)
	}
	if cl := interchain.GetClient(v, "supply-watch"); cl == nil || !cl.Frozen || cl.FrozenHeight != 12 {
		t.Fatalf("client supply-watch: %+v", cl)
	}
	if cs := interchain.GetConsensus(v, "supply", 12); cs == nil || string(cs.AppHash) != "state 11" {
		t.Fatalf("consensus state 12: %+v", cs)
	}
	// Replaying with headers from the block bytes alone gives the same app hashes.
	replayTwice(t, h)
}
