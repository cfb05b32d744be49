package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

var binary string

func TestMain(m *testing.M) { nodetest.MainWithBinary(m, ".", &binary) }

func freePort(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(nodetest.FreePort(t)))
}

const testPass = "process test passphrase"

func run(t *testing.T, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+testPass)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// proc is a node running as a separate process.
type proc struct {
	home   string
	cmd    *exec.Cmd
	out    *bytes.Buffer
	api    string
	exited chan error
}

func startProc(t *testing.T, home string, extra ...string) *proc {
	t.Helper()
	api := freePort(t)
	cmd := exec.Command(binary, append([]string{"start", "--home", home, "--api", api, "--p2p", freePort(t), "--no-rpc"}, extra...)...)
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+testPass)
	p := &proc{home: home, cmd: cmd, out: &bytes.Buffer{}, api: api, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	cl := client.New(api)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := cl.Status(ctx)
		cancel()
		if err == nil && s.Height > 0 {
			return p
		}
		select {
		case err := <-p.exited:
			t.Fatalf("node exited during start-up: %v\n%s", err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not come up: %v\n%s", err, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// commands run the CLI against this node and its home: try returns the output and the
// error, must fails the test on an error.
func (p *proc) commands(t *testing.T) (try func(args ...string) (string, error), must func(args ...string) string) {
	try = func(args ...string) (string, error) {
		return run(t, append([]string{"--home", p.home, "--node", p.api}, args...)...)
	}
	must = func(args ...string) string {
		t.Helper()
		out, err := try(args...)
		if err != nil {
			t.Fatalf("ehrchain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	return try, must
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		p.exited <- nil
	}
}

// stop stops the node with SIGTERM, as an operator does, and fails the test unless it
// exits cleanly.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- nil
		if err != nil {
			t.Fatalf("SIGTERM: exit %v\n%s", err, p.out)
		}
	case <-time.After(time.Minute):
		t.Fatalf("node did not stop on SIGTERM\n%s", p.out)
	}
}

func initHome(t *testing.T, extra ...string) string {
	home := filepath.Join(t.TempDir(), "node")
	if out, err := run(t, append([]string{"init", "--home", home, "--chain-id", "proc-chain"}, extra...)...); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return home
}

// TestKill9LosesNothingCommitted registers patients from several goroutines, kills the node
// with SIGKILL at a random moment, restarts it, and checks that every registration the node
// acknowledged as committed is still there, and that the chain goes on.
func TestKill9LosesNothingCommitted(t *testing.T) {
	home := initHome(t, "--open-registration") // patients register themselves, from several goroutines
	for round := 0; round < 2; round++ {
		p := startProc(t, home)
		cl := client.New(p.api)
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var acked []string
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					ks, err := keys.NewKeystore("p")
					if err != nil {
						return
					}
					chainID, err := cl.ChainIDOf(ctx)
					if err != nil {
						return
					}
					res, err := cl.Send(ctx, ks, client.RegistrationFor(chainID, ks, identity.Patient, "patient", "", ""))
					if err == nil && res.Height > 0 {
						mu.Lock()
						acked = append(acked, ks.ID)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(1500+rand.IntN(1500)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		if len(acked) == 0 {
			t.Fatalf("round %d: nothing was committed before the kill\n%s", round, p.out)
		}

		p = startProc(t, home)
		cl = client.New(p.api)
		for _, id := range acked {
			r, err := cl.Identity(context.Background(), id, false)
			if err != nil || !r.Identity.Active {
				t.Fatalf("round %d: identity %s acknowledged before kill -9 is gone after restart: %v", round, id, err)
			}
		}
		t.Logf("round %d: %d acknowledged registrations survived kill -9", round, len(acked))
		ks, _ := keys.NewKeystore("after")
		chainID, _ := cl.ChainIDOf(context.Background())
		if _, err := cl.Send(context.Background(), ks, client.RegistrationFor(chainID, ks, identity.Patient, "after", "", "")); err != nil {
			t.Fatalf("round %d: the restarted node does not accept transactions: %v", round, err)
		}
		p.kill()
	}
}

func TestSecondStartRefusesAndSignalStopsCleanly(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	out, err := run(t, "start", "--home", home, "--api", freePort(t), "--p2p", freePort(t), "--no-rpc")
	if err == nil || !strings.Contains(out, "already in use by a running node") {
		t.Fatalf("second start: err=%v\n%s", err, out)
	}
	p.stop(t)
	if !strings.Contains(p.out.String(), "stopped cleanly") {
		t.Fatalf("no clean stop message:\n%s", p.out)
	}
	if out, err := run(t, "init", "--home", home); err == nil || !strings.Contains(out, "refusing to overwrite") {
		t.Fatalf("init over an existing home: err=%v\n%s", err, out)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ehrchain test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestAPIOverTLS starts the node with a certificate: the API answers over HTTPS and refuses
// plain HTTP.
func TestAPIOverTLS(t *testing.T) {
	home := initHome(t)
	cert, key := selfSigned(t, t.TempDir())
	api := freePort(t)
	cmd := exec.Command(binary, "start", "--home", home, "--api", api, "--p2p", freePort(t), "--no-rpc", "--tls-cert", cert, "--tls-key", key)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }()
	var status string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		o, err := run(t, "status", "--node", "https://"+api, "--insecure")
		if err == nil && strings.Contains(o, "height") {
			status = o
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status == "" {
		t.Fatalf("no status over HTTPS\n%s", out)
	}
	if o, err := run(t, "status", "--node", "http://"+api); err == nil {
		t.Fatalf("plain HTTP to a TLS API answered: %s", o)
	}
	if o, err := run(t, "status", "--node", "https://"+api); err == nil {
		t.Fatalf("an unknown self-signed certificate was accepted without --insecure: %s", o)
	}
}

// TestKeysExportImport exports a keystore (still encrypted), imports it under another name,
// and checks that both hold the same identity and that a wrong passphrase is refused.
func TestKeysExportImport(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	if out, err := run(t, "--home", home, "keys", "add", "alice"); err != nil {
		t.Fatalf("keys add: %v\n%s", err, out)
	}
	exported := filepath.Join(t.TempDir(), "alice.json")
	if out, err := run(t, "--home", home, "keys", "export", "alice", "--out", exported); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(exported)
	if bytes.Contains(data, []byte("PRIVATE")) || !bytes.Contains(data, []byte("argon2id")) {
		t.Fatalf("exported keystore does not look encrypted:\n%s", data)
	}
	out, err := run(t, "--home", home, "keys", "import", exported, "--name", "alice-copy")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	list, _ := run(t, "--home", home, "keys", "list")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		ids = append(ids, strings.Fields(line)[1])
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("keys list after import:\n%s", list)
	}
	if out, err := run(t, "--home", home, "keys", "import", exported, "--name", "alice-copy"); err == nil {
		t.Fatalf("import over an existing keystore succeeded: %s", out)
	}
	cmd := exec.Command(binary, "--home", home, "keys", "import", exported, "--name", "third")
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE=wrong passphrase")
	if o, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(o), "passphrase") {
		t.Fatalf("import with a wrong passphrase: err=%v %s", err, o)
	}
}
