package node_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

var pass = nodetest.Passphrase

type running struct {
	n   *node.Node
	srv *api.Server
	cl  *client.Client
}

func (r *running) stop() { r.srv.Shutdown(context.Background()); r.n.Stop() }

func start(t *testing.T, home string) *running {
	r := nodetest.Start(t, home)
	return &running{n: r.Node, srv: r.Server, cl: r.Client}
}

func initHome(t *testing.T) (string, *keys.Keystore) { return nodetest.Init(t) }

func TestRegisterRestartFind(t *testing.T) {
	home, reg := initHome(t)
	r := start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chainID, err := r.cl.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := keys.NewKeystore("dr-alice")
	pat, _ := keys.NewKeystore("carol")
	aud, _ := keys.NewKeystore("dan")
	steps := []struct {
		signer *keys.Keystore
		body   tx.Body
	}{
		{reg, client.RegistrationFor(chainID, prov, identity.Provider, "Dr Alice", "St Mary", "MD-1")},
		{reg, client.RegistrationFor(chainID, aud, identity.Auditor, "Dan", "", "")},
		{pat, client.RegistrationFor(chainID, pat, identity.Patient, "Carol", "", "")},
	}
	for _, s := range steps {
		res, err := r.cl.Send(ctx, s.signer, s.body)
		if err != nil {
			t.Fatal(err)
		}
		if res.Height == 0 || res.Code != 0 {
			t.Fatalf("registration not committed: %+v", res)
		}
	}
	// A rejection comes back as a coded error with the right HTTP status.
	_, err = r.cl.Send(ctx, pat, client.RegistrationFor(chainID, newKS(t), identity.Provider, "X", "Y", "Z"))
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Codespace != "identity" || ce.Code != identity.CodeUnauthorized || ce.Status != 403 {
		t.Fatalf("patient registering a provider: %v", err)
	}
	before, err := r.cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.stop()

	r = start(t, home)
	after, err := r.cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Height < before.Height {
		t.Fatalf("height went back from %d to %d", before.Height, after.Height)
	}
	for ks, role := range map[*keys.Keystore]identity.Role{prov: identity.Provider, pat: identity.Patient, aud: identity.Auditor} {
		got, err := r.cl.As(ks).Identity(ctx, ks.ID, true) // a patient's proof names its sponsor: signed
		if err != nil {
			t.Fatalf("%s after restart: %v", ks.Name, err)
		}
		if got.Identity.Role != role || !got.Identity.Active {
			t.Fatalf("%s after restart: %+v", ks.Name, got.Identity)
		}
		// The proof ties the identity to the app hash of the height it was read at.
		if err := (*state.Proof)(got.Proof).Verify(got.Proof.AppHash, identity.Key(ks.ID), got.Value); err != nil {
			t.Fatalf("proof: %v", err)
		}
	}
	// Sequences survive the restart: the patient can go on acting.
	if seq, _ := r.cl.Sequence(ctx, pat.ID); seq != 1 {
		t.Fatalf("patient's next sequence after restart = %d, want 1", seq)
	}
}

func TestSecondStartOnSameHomeRefuses(t *testing.T) {
	home, _ := initHome(t)
	start(t, home)
	_, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", NoRPC: true, LogLevel: "error"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already in use by a running node") {
		t.Fatalf("second start on the same home: %v", err)
	}
}

func TestInitRefusesExistingHome(t *testing.T) {
	home, _ := initHome(t)
	_, err := node.Init(node.InitOptions{Home: home, Passphrase: pass, KDF: keys.TestKDF})
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("init on an existing home: %v", err)
	}
}

func newKS(t *testing.T) *keys.Keystore {
	ks, err := keys.NewKeystore("x")
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestConsensusFailureIsReported(t *testing.T) {
	home, reg := initHome(t)
	r := start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.cl.Status(ctx); err != nil {
		t.Fatal(err)
	}
	r.n.BreakStoreForTest()
	chainID, _ := r.cl.ChainIDOf(ctx)
	go r.cl.Send(ctx, reg, client.RegistrationFor(chainID, newKS(t), identity.Auditor, "a", "", ""))
	select {
	case err := <-r.n.Fatal():
		if err == nil || !strings.Contains(err.Error(), "consensus halted") {
			t.Fatalf("fatal error = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a state fault inside consensus was not reported")
	}
}
