package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
)

// followSupply makes the node behind c follow a counterparty chain "supply-1" whose
// committed state (a real store) holds key = value: the registrar creates light client
// "supply" from a header signed by four CometBFT validator keys, and relayer relays header
// 2, which carries the app hash of that state. It returns that app hash and the proof of
// key in it.
func followSupply(t *testing.T, ctx context.Context, c *client.Client, reg, relayer *keys.Keystore, key, value []byte) ([]byte, *state.Proof) {
	t.Helper()
	b, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Set(key, value)
	cm, err := b.Commit(1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Committed().Prove(key)
	if err != nil {
		t.Fatal(err)
	}
	vals := interchaintest.NewSet("supply", 4, 10)
	start := time.Now().Add(-time.Minute) // the node's block time follows the wall clock
	lb := func(h int64, appHash []byte) []byte {
		raw, err := interchain.EncodeLightBlock(interchaintest.Sign(interchaintest.Header{ChainID: "supply-1", Height: h,
			Time: start.Add(time.Duration(h) * time.Second), AppHash: appHash, Vals: vals}))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	res, err := c.Send(ctx, reg, &interchain.CreateBody{ClientID: "supply", ChainID: "supply-1", TrustingPeriod: 24 * time.Hour, LightBlock: lb(1, []byte("genesis"))})
	if err != nil || res.Code != 0 {
		t.Fatalf("create client: %+v, %v", res, err)
	}
	res, err = c.Send(ctx, relayer, &interchain.UpdateBody{ClientID: "supply", TrustedHeight: 1, LightBlock: lb(2, cm.AppHash)})
	if err != nil || res.Code != 0 {
		t.Fatalf("relay header 2: %+v, %v", res, err)
	}
	return cm.AppHash, p
}
