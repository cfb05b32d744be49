package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// initChain is nodetest.Init with its own chain id: a light client follows another chain,
// never one of the same id.
func initChain(t *testing.T, chainID string) (string, *keys.Keystore) {
	t.Helper()
	home, err := os.MkdirTemp("", "ehrchain-relay-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 5 && os.RemoveAll(home) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if _, err := node.Init(node.InitOptions{Home: home, ChainID: chainID, Passphrase: nodetest.Passphrase, KDF: keys.TestKDF,
		Params: app.Params{OpenRegistration: true}}); err != nil {
		t.Fatal(err)
	}
	data, err := keys.Dir{Path: node.Paths{Home: home}.Keys()}.Load("registrar")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Decrypt(data, nodetest.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	return home, reg
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestRelayBetweenTwoRealChains: chain A's registrar creates a light client of chain B from
// B's own light block; a provider of A (not the registrar: anyone may relay) relays B's
// header above a proof of a B identity, and A checks that proof against the relayed
// header; a proof with one byte flipped is refused. The loop then keeps the client up
// with B until it is cancelled.
func TestRelayBetweenTwoRealChains(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	homeA, regA := nodetest.Init(t)
	homeB, regB := initChain(t, "chain-b")
	a, b := nodetest.Start(t, homeA), nodetest.Start(t, homeB)
	castA := nodetest.RegisterCast(t, ctx, a.Client, regA)
	castB := nodetest.RegisterCast(t, ctx, b.Client, regB)

	src := relay.Node{C: b.Client}
	create, first, err := relay.CreateBody(ctx, src, "chain-b", 0, 24*time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if create.ChainID != "chain-b" || first.ChainID != "chain-b" || first.Height < 1 {
		t.Fatalf("create body of chain %q from block %d of %q", create.ChainID, first.Height, first.ChainID)
	}
	if _, err := a.Client.Send(ctx, castA.Provider, create); !refused(err, interchain.CodeUnauthorized) {
		t.Fatalf("a provider created a light client: %v", err)
	}
	if _, err := a.Client.Send(ctx, regA, create); err != nil {
		t.Fatal(err)
	}
	start, err := a.Client.InterchainClient(ctx, "chain-b")
	if err != nil {
		t.Fatal(err)
	}

	// A proof of B's provider identity at B's height h; its app hash is in header h+1.
	pb, err := b.Client.As(castB.Provider).Identity(ctx, castB.Provider.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	h := pb.Proof.Height
	waitFor(t, ctx, "chain B to make block h+1", func() bool { return b.Node.Height() > h })
	r := &relay.Relayer{Source: src, Target: relay.Chain{C: a.Client, Signer: castA.Provider}, ClientID: "chain-b", Logf: t.Logf}
	res, err := r.RelayTo(ctx, h+1)
	if err != nil {
		t.Fatal(err)
	}
	if start.Client.LatestHeight != first.Height || !bytes.Equal(start.Latest.HeaderHash, first.Hash()) {
		t.Fatalf("client starts at %d (%X), created from block %d (%X)", start.Client.LatestHeight, start.Latest.HeaderHash, first.Height, first.Hash())
	}
	if res.From != start.Client.LatestHeight || res.To != h+1 || len(res.Relayed) != 1 {
		t.Fatalf("relayed %+v, want header %d from %d", res, h+1, start.Client.LatestHeight)
	}

	w, err := b.Client.LightBlock(ctx, h+1)
	if err != nil {
		t.Fatal(err)
	}
	envelope, _ := json.Marshal(w)
	signer, _ := tx.ParseSigner(castA.Provider.ID)
	signed := tx.Sign(castA.Provider.Keys.Sign, signer, "test-chain", 0,
		&interchain.UpdateBody{ClientID: "chain-b", TrustedHeight: res.From, LightBlock: w.LightBlock}).Encode()
	t.Logf("relayed header %d (1 validator): light block %d bytes, GET /v1/lightblocks answer %d bytes, signed update transaction %d bytes",
		h+1, len(w.LightBlock), len(envelope), len(signed))

	check := &wire.InterchainCheck{Key: identity.Key(castB.Provider.ID), Value: pb.Value, Proof: pb.Proof}
	ok, err := a.Client.CheckInterchain(ctx, "chain-b", check)
	if err != nil {
		t.Fatalf("B's proof does not check on A: %v", err)
	}
	if ok.ProvenAt != h || ok.HeaderBy != h+1 {
		t.Fatalf("checked %+v, want state %d by header %d", ok, h, h+1)
	}
	flipped := *pb.Proof
	flipped.Map = append([]byte{}, pb.Proof.Map...)
	flipped.Map[len(flipped.Map)/2] ^= 0x01
	if _, err := a.Client.CheckInterchain(ctx, "chain-b", &wire.InterchainCheck{Key: check.Key, Value: check.Value, Proof: &flipped}); !refused(err, interchain.CodeProof) {
		t.Fatalf("a proof with a flipped byte: %v", err)
	}
	other := *pb.Proof
	other.Height = h + 5 // a header the client never verified
	if _, err := a.Client.CheckInterchain(ctx, "chain-b", &wire.InterchainCheck{Key: check.Key, Value: check.Value, Proof: &other}); !refused(err, interchain.CodeUnverified) {
		t.Fatalf("a proof against an unrelayed header: %v", err)
	}

	// The loop follows B until cancelled.
	target := b.Node.Height() + 3
	waitFor(t, ctx, "chain B to pass the target", func() bool { return b.Node.Height() >= target })
	loop, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(loop, 100*time.Millisecond) }()
	waitFor(t, ctx, "the loop to relay B's target height", func() bool {
		c, err := a.Client.InterchainClient(ctx, "chain-b")
		return err == nil && c.Client.LatestHeight >= target
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if ok, err := a.Client.CheckInterchain(ctx, "chain-b", check); err != nil || ok.HeaderBy != h+1 {
		t.Fatalf("the earlier proof after more headers: %+v, %v", ok, err)
	}

	// A proof at h2 whose header h2+1 the client skipped: relaying h2+1 fills it in below
	// the client's latest height, and the proof checks.
	pb2, err := b.Client.As(castB.Provider).Identity(ctx, castB.Provider.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	h2 := pb2.Proof.Height
	waitFor(t, ctx, "chain B to make block h2+3", func() bool { return b.Node.Height() >= h2+3 })
	if res, err := r.Once(ctx); err != nil || res.To <= h2+1 {
		t.Fatalf("relay B's newest past %d: %+v, %v", h2+1, res, err)
	}
	check2 := &wire.InterchainCheck{Key: identity.Key(castB.Provider.ID), Value: pb2.Value, Proof: pb2.Proof}
	if _, err := a.Client.CheckInterchain(ctx, "chain-b", check2); !refused(err, interchain.CodeUnverified) {
		t.Fatalf("a proof at %d with header %d skipped: %v", h2, h2+1, err)
	}
	below, err := a.Client.InterchainClientBelow(ctx, "chain-b", h2+1)
	if err != nil || below.Below == nil || below.Below.Height >= h2+1 || below.Client.LatestHeight <= h2+1 {
		t.Fatalf("below %d: %+v, %v", h2+1, below, err)
	}
	var ce *client.Error
	if _, err := a.Client.InterchainClientBelow(ctx, "chain-b", 0); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || ce.Code != wire.CodeBadRequest {
		t.Fatalf("below=0: %v, want HTTP 400 code %d", err, wire.CodeBadRequest)
	}
	fill, err := r.RelayTo(ctx, h2+1)
	if err != nil || !slices.Equal(fill.Relayed, []int64{h2 + 1}) || fill.To != below.Client.LatestHeight {
		t.Fatalf("fill-in of %d: %+v, %v", h2+1, fill, err)
	}
	if ok, err := a.Client.CheckInterchain(ctx, "chain-b", check2); err != nil || ok.ProvenAt != h2 || ok.HeaderBy != h2+1 {
		t.Fatalf("the proof at %d after the fill-in: %+v, %v", h2, ok, err)
	}
}

// refused: err is the node's refusal with interchain code c.
func refused(err error, c uint32) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Codespace == string(interchain.Space) && ce.Code == c && ce.Status != http.StatusOK
}
