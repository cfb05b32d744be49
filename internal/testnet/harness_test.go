package testnet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

var binary string

// TestMain builds the real ehrchain binary once: every node of these tests is a separate
// process of it.
func TestMain(m *testing.M) { nodetest.MainWithBinary(m, "../../cmd/ehrchain", &binary) }

var passphrase = []byte("testnet test passphrase")

// net is a testnet of real node processes, stopped and removed when the test ends.
type network struct {
	t   testing.TB
	dir string
	m   *Manifest
	reg *keys.Keystore
	ctx context.Context
}

func freePorts(t testing.TB) func(int) (int, int, int) {
	return func(int) (int, int, int) { return freePort(t), freePort(t), freePort(t) }
}

func freePort(t testing.TB) int { return nodetest.FreePort(t) }

// newNetwork lays out n validators on free loopback ports with short blocks and starts them.
func newNetwork(t *testing.T, n int) *network { return newNetworkWith(t, n, nil) }

// newNetworkWith is newNetwork with a chance to edit the nodes' configs before they start.
func newNetworkWith(t testing.TB, n int, edit func(dir string, m *Manifest)) *network {
	return newNetworkParams(t, n, app.Params{OpenRegistration: true}, edit) // patients register themselves
}

// newNetworkParams is newNetworkWith on a chain with the given genesis rules.
func newNetworkParams(t testing.TB, n int, params app.Params, edit func(dir string, m *Manifest)) *network {
	t.Helper()
	dir := t.TempDir()
	m, err := Init(Options{Dir: dir, Validators: n, ChainID: "net-test", Ports: freePorts(t), BlockMS: 100,
		Passphrase: passphrase, KDF: keys.TestKDF, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// Registered after TempDir, so it runs before the directory is removed, pass or fail.
	t.Cleanup(func() {
		if err := Stop(dir, nil, true, 5*time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			for i := range m.Nodes {
				b, _ := os.ReadFile(m.LogPath(dir, i))
				t.Logf("--- %s log (tail) ---\n%s", m.Nodes[i].Name, tail(string(b), 3000))
			}
		}
	})
	data, err := keys.Dir{Path: filepath.Join(m.HomeOf(dir, 0), "keys")}.Load(Registrar)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.Decrypt(data, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	nw := &network{t: t, dir: dir, m: m, reg: reg, ctx: ctx}
	if edit != nil {
		edit(dir, m)
	}
	nw.start()
	return nw
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// start starts the given nodes (all when none) and waits until each serves a height > 0.
func (nw *network) start(which ...int) {
	nw.t.Helper()
	if _, err := StartAttached(nw.dir, binary, which); err != nil {
		nw.t.Fatal(err)
	}
	if len(which) == 0 {
		for i := range nw.m.Nodes {
			which = append(which, i)
		}
	}
	for _, i := range which {
		nw.waitHeight(i, 1, 60*time.Second)
	}
}

// reload picks up nodes added to the manifest.
func (nw *network) reload() {
	m, err := Load(nw.dir)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.m = m
}

func (nw *network) kill(which ...int) {
	nw.t.Helper()
	if err := Stop(nw.dir, which, true, 5*time.Second); err != nil {
		nw.t.Fatal(err)
	}
}

func (nw *network) client(i int) *client.Client { return client.New(nw.m.Nodes[i].API) }

func (nw *network) rpc(i int) *rpchttp.HTTP {
	c, err := rpchttp.New("tcp://"+nw.m.Nodes[i].RPC, "/websocket")
	if err != nil {
		nw.t.Fatal(err)
	}
	return c
}

// height is node i's last committed height (-1 if it does not answer).
func (nw *network) height(i int) (int64, string) {
	ctx, cancel := context.WithTimeout(nw.ctx, 2*time.Second)
	defer cancel()
	s, err := nw.client(i).Status(ctx)
	if err != nil {
		return -1, ""
	}
	return s.Height, s.AppHash
}

func (nw *network) waitHeight(i int, h int64, d time.Duration) int64 {
	nw.t.Helper()
	deadline := time.Now().Add(d)
	for {
		got, _ := nw.height(i)
		if got >= h {
			return got
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(nw.m.LogPath(nw.dir, i))
			nw.t.Fatalf("%s did not reach height %d within %s (at %d); log:\n%s", nw.m.Nodes[i].Name, h, d, got, tail(string(b), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// register registers a patient through node i and waits for its commit.
func (nw *network) register(i int) (string, int64) {
	nw.t.Helper()
	ks, err := keys.NewKeystore("p")
	if err != nil {
		nw.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(nw.ctx, 30*time.Second)
	defer cancel()
	res, err := nw.client(i).Send(ctx, ks, client.RegistrationFor(nw.m.ChainID, ks, identity.Patient, "patient", "", ""))
	if err != nil {
		nw.t.Fatalf("register through %s: %v", nw.m.Nodes[i].Name, err)
	}
	return ks.ID, res.Height
}

// appHashAt is the app hash of height h as the validators signed it: the header of block
// h+1 on node i.
func (nw *network) appHashAt(i int, h int64) string {
	nw.t.Helper()
	nw.waitHeight(i, h+1, 30*time.Second)
	next := h + 1
	b, err := nw.rpc(i).Block(nw.ctx, &next)
	if err != nil {
		nw.t.Fatal(err)
	}
	return b.Block.Header.AppHash.String()
}

// stalled checks heights on the given nodes do not move for d, and returns them.
func (nw *network) stalled(d time.Duration, which ...int) []int64 {
	nw.t.Helper()
	before := make([]int64, len(which))
	for k, i := range which {
		before[k], _ = nw.height(i)
	}
	time.Sleep(d)
	for k, i := range which {
		if h, _ := nw.height(i); h != before[k] {
			nw.t.Fatalf("%s committed from height %d to %d with less than 2/3 of the voting power up", nw.m.Nodes[i].Name, before[k], h)
		}
	}
	return before
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustKeystore(t *testing.T) *keys.Keystore {
	t.Helper()
	ks, err := keys.NewKeystore("k")
	if err != nil {
		t.Fatal(err)
	}
	return ks
}
