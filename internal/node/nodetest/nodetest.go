// Package nodetest starts real ehrchain nodes for tests: a temp home, ephemeral ports, the
// HTTP API, and a client, all stopped when the test ends.
package nodetest

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

// Passphrase protects the registrar keystore of test homes.
var Passphrase = []byte("test passphrase")

// Running is a node with its API on an ephemeral port.
type Running struct {
	Node   *node.Node
	Server *api.Server
	Client *client.Client
}

// Init creates a home in a temp dir and returns it with the registrar's keystore. Its chain
// lets patients register themselves, which most tests do to set up their cast; the default
// (closed) is tested in internal/app.
func Init(t testing.TB) (string, *keys.Keystore) {
	t.Helper()
	return InitWith(t, app.Params{OpenRegistration: true})
}

// InitWith is Init for a chain created with params.
func InitWith(t testing.TB, params app.Params) (string, *keys.Keystore) {
	t.Helper()
	return InitChain(t, "test-chain", params)
}

// InitChain is InitWith for a chain of its own id (one of several in a test).
func InitChain(t testing.TB, chainID string, params app.Params) (string, *keys.Keystore) {
	t.Helper()
	// Not t.TempDir: CometBFT may still flush a file (the address book) while it stops,
	// which makes TempDir's strict cleanup fail the test. Remove it after the node stopped.
	home, err := os.MkdirTemp("", "ehrchain-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 5 && os.RemoveAll(home) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if _, err := node.Init(node.InitOptions{Home: home, ChainID: chainID, Passphrase: Passphrase, KDF: keys.TestKDF, Params: params}); err != nil {
		t.Fatal(err)
	}
	data, err := keys.Dir{Path: node.Paths{Home: home}.Keys()}.Load("registrar")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Decrypt(data, Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	return home, reg
}

// Start runs a node on home until the test ends (or Stop).
func Start(t testing.TB, home string) *Running {
	t.Helper()
	n, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", NoRPC: true, LogLevel: "error"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Stop()
		t.Fatal(err)
	}
	srv := api.New(n.API())
	go srv.Serve(l, "", "")
	r := &Running{Node: n, Server: srv, Client: client.New(l.Addr().String())}
	t.Cleanup(r.Stop)
	return r
}

// Stop shuts the API and the node down.
func (r *Running) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Server.Shutdown(ctx)
	r.Node.Stop()
}

// Cast is the identities most end-to-end tests start from.
type Cast struct{ Provider, Patient, Auditor *keys.Keystore }

// RegisterCast registers, as the registrar, an auditor ("Auditor") and a provider ("Dr",
// St Mary); the provider registers a patient ("Pat", a care relationship), who publishes a
// key for the "general" category.
func RegisterCast(t testing.TB, ctx context.Context, c *client.Client, reg *keys.Keystore) Cast {
	t.Helper()
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cast Cast
	for _, k := range []**keys.Keystore{&cast.Provider, &cast.Patient, &cast.Auditor} {
		if *k, err = keys.NewKeystore("cast"); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		signer *keys.Keystore
		body   *identity.Register
	}{
		{reg, client.RegistrationFor(chainID, cast.Auditor, identity.Auditor, "Auditor", "", "")},
		{reg, client.RegistrationFor(chainID, cast.Provider, identity.Provider, "Dr", "St Mary", "MD-1")},
		{cast.Provider, client.RegistrationFor(chainID, cast.Patient, identity.Patient, "Pat", "", "")},
	} {
		if _, err := c.Send(ctx, s.signer, s.body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PublishCategories(ctx, cast.Patient, []string{"general"}); err != nil {
		t.Fatal(err)
	}
	return cast
}
