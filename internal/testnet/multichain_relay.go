package testnet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/relay"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// A multi-chain testnet runs one relayer process per entry of the layout's relayers: chain
// On's light client Client of chain Follows, kept up with Follows' headers by `ehrchain
// relay`. Each relayer signs as an identity of its own on On (so its updates never race
// the registrar's sequence), a provider for its admission budget: any registered identity
// may relay, and the chain verifies every header itself. Its keystore, log and pid live in
// DIR/relayers/ON (a client home holding only keys) as CLIENT.log and CLIENT.pid.

// RelayerTrustingPeriod is the trusting period of the light clients the testnet creates: a
// testnet stopped for longer than it needs new clients (the relayer stops, interchain/7).
const RelayerTrustingPeriod = 336 * time.Hour

// RelayEvery is how often a testnet relayer looks for a newer header.
const RelayEvery = time.Second

func relayerHome(dir, on string) string { return filepath.Join(dir, "relayers", on) }

// RelayerKey is the keystore name of the relayer of client on its chain's relayer home.
func RelayerKey(client string) string { return "relayer-" + client }

func relayerFile(dir string, r shard.Relayer, ext string) string {
	return filepath.Join(relayerHome(dir, r.On), r.Client+ext)
}

// initRelayerKeys makes each relayer's keystore at init, encrypted as the registrar's is.
func initRelayerKeys(dir string, rs []shard.Relayer, pass []byte, kdf keys.KDFParams) error {
	for _, r := range rs {
		if err := newRelayerKey(dir, r, pass, kdf); err != nil {
			return err
		}
	}
	return nil
}

func newRelayerKey(dir string, r shard.Relayer, pass []byte, kdf keys.KDFParams) error {
	ks, err := keys.NewKeystore(RelayerKey(r.Client))
	if err != nil {
		return err
	}
	enc, err := keys.Encrypt(ks, pass, kdf)
	if err != nil {
		return err
	}
	return keys.Dir{Path: node.Paths{Home: relayerHome(dir, r.On)}.Keys()}.Save(RelayerKey(r.Client), enc)
}

func loadKey(home, name string, pass []byte) (*keys.Keystore, error) {
	data, err := keys.Dir{Path: node.Paths{Home: home}.Keys()}.Load(name)
	if err != nil {
		return nil, err
	}
	ks, err := keys.Decrypt(data, pass)
	if err != nil {
		return nil, fmt.Errorf("keystore %s in %s: %w", name, home, err)
	}
	return ks, nil
}

// chainAPI is the API of node 0 of a layout chain: what its relayers talk to.
func chainAPI(dir string, c LayoutChain) (string, error) {
	m, err := Load(filepath.Join(dir, c.Dir))
	if err != nil {
		return "", err
	}
	return "http://" + m.Nodes[0].API, nil
}

// relayerEnds are the APIs of a relayer's chains.
type relayerEnds struct {
	r           shard.Relayer
	on, follows string
}

func (l *Layout) ends(dir string, r shard.Relayer) (relayerEnds, error) {
	e := relayerEnds{r: r}
	for _, c := range l.Chains {
		var err error
		switch c.Name {
		case r.On:
			e.on, err = chainAPI(dir, c)
		case r.Follows:
			e.follows, err = chainAPI(dir, c)
		}
		if err != nil {
			return e, err
		}
	}
	if e.on == "" || e.follows == "" {
		return e, fmt.Errorf("relayer of client %s: chain %s or %s is not in the layout", r.Client, r.On, r.Follows)
	}
	return e, nil
}

// touches reports whether a relayer has an end among names (every relayer when none).
func touches(r shard.Relayer, names []string) bool {
	return len(names) == 0 || slices.Contains(names, r.On) || slices.Contains(names, r.Follows)
}

// serving waits until the node at api has committed a block, or ctx ends.
func serving(ctx context.Context, api string) error {
	c := client.New(api)
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not serve: %v", api, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SetupRelayer makes sure relayer r can run: its identity is registered on chain On by the
// registrar, and light client r.Client exists there, created by the registrar from the
// newest block of chain Follows (the testnet trusts its own nodes for the first header).
// Both chains must serve. It is idempotent: a later start finds both and does nothing.
func SetupRelayer(ctx context.Context, dir string, r shard.Relayer, pass []byte) error {
	l, err := LoadLayout(dir)
	if err != nil {
		return err
	}
	e, err := l.ends(dir, r)
	if err != nil {
		return err
	}
	for _, api := range []string{e.on, e.follows} {
		if err := serving(ctx, api); err != nil {
			return fmt.Errorf("relayer of client %s on %s: %w", r.Client, r.On, err)
		}
	}
	onDir, err := l.ChainDir(dir, r.On)
	if err != nil {
		return err
	}
	reg, err := loadKey(filepath.Join(onDir, "node0"), Registrar, pass)
	if err != nil {
		return err
	}
	home := relayerHome(dir, r.On)
	if _, err := (keys.Dir{Path: node.Paths{Home: home}.Keys()}).Load(RelayerKey(r.Client)); err != nil {
		// A testnet laid out before relayers had keystores: make one now.
		if err := newRelayerKey(dir, r, pass, keys.DefaultKDF); err != nil {
			return err
		}
	}
	who, err := loadKey(home, RelayerKey(r.Client), pass)
	if err != nil {
		return err
	}
	on := client.New(e.on)
	if _, err := on.Identity(ctx, who.ID, false); notFound(err) {
		chainID, err := on.ChainIDOf(ctx)
		if err != nil {
			return err
		}
		body := client.RegistrationFor(chainID, who, identity.Provider, "Relayer of "+r.Follows, "testnet relayer", RelayerKey(r.Client))
		if _, err := on.Send(ctx, reg, body); err != nil {
			return fmt.Errorf("register the relayer of client %s on %s: %w", r.Client, r.On, err)
		}
	} else if err != nil {
		return err
	}
	if _, err := on.InterchainClient(ctx, r.Client); notFound(err) {
		body, lb, err := relay.CreateBody(ctx, relay.Node{C: client.New(e.follows)}, r.Client, 0, RelayerTrustingPeriod, 0)
		if err != nil {
			return fmt.Errorf("light client %s on %s: %w", r.Client, r.On, err)
		}
		if _, err := on.Send(ctx, reg, body); err != nil {
			return fmt.Errorf("create light client %s on %s from %s block %d: %w", r.Client, r.On, r.Follows, lb.Height, err)
		}
	} else if err != nil {
		return err
	}
	return nil
}

func notFound(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == http.StatusNotFound
}

// RelayerProc is one relayer process started.
type RelayerProc struct {
	shard.Relayer
	PID int `json:"pid"`
}

// StartRelayers sets up and starts the relayers of the layout that have an end among the
// named chains (all when none), just started, and whose other end has node 0 running; a
// relayer already running is left alone. Each is `binary relay ... --every every`, in its own
// session, signing with its keystore unlocked by pass (given to it in its environment).
func StartRelayers(ctx context.Context, dir, binary string, names []string, pass []byte, every time.Duration) ([]RelayerProc, error) {
	return startRelayers(ctx, dir, binary, names, pass, every, false)
}

// StartRelayersAttached is StartRelayers for tests (see StartAttached).
func StartRelayersAttached(ctx context.Context, dir, binary string, names []string, pass []byte, every time.Duration) ([]RelayerProc, error) {
	return startRelayers(ctx, dir, binary, names, pass, every, true)
}

func startRelayers(ctx context.Context, dir, binary string, names []string, pass []byte, every time.Duration, attached bool) ([]RelayerProc, error) {
	l, err := LoadLayout(dir)
	if err != nil {
		return nil, err
	}
	if _, err := l.Pick(names); err != nil {
		return nil, err
	}
	var out []RelayerProc
	for _, r := range l.Relayers {
		if !touches(r, names) || !l.endsUp(dir, r, names) {
			continue
		}
		if pid := relayerPID(dir, r); pid != 0 {
			out = append(out, RelayerProc{r, pid})
			continue
		}
		if err := SetupRelayer(ctx, dir, r, pass); err != nil {
			return out, err
		}
		pid, err := spawnRelayer(dir, binary, l, r, pass, every, attached)
		if err != nil {
			return out, err
		}
		out = append(out, RelayerProc{r, pid})
	}
	return out, nil
}

// endsUp reports whether both chains of r are up or being started (named, or all when
// none are): SetupRelayer then waits for them to serve.
func (l *Layout) endsUp(dir string, r shard.Relayer, names []string) bool {
	for _, name := range []string{r.On, r.Follows} {
		if len(names) == 0 || slices.Contains(names, name) {
			continue
		}
		d, err := l.ChainDir(dir, name)
		if err != nil || !Running(filepath.Join(d, "node0")) {
			return false
		}
	}
	return true
}

func spawnRelayer(dir, binary string, l *Layout, r shard.Relayer, pass []byte, every time.Duration, attached bool) (int, error) {
	e, err := l.ends(dir, r)
	if err != nil {
		return 0, err
	}
	home := relayerHome(dir, r.On)
	lf, err := os.OpenFile(relayerFile(dir, r, ".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(binary, "--home", home, "--node", e.on, "relay", "--from", e.follows, "--client", r.Client,
		"--as", RelayerKey(r.Client), "--every", every.String())
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+string(pass))
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if attached {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	err = cmd.Start()
	lf.Close()
	if err != nil {
		return 0, fmt.Errorf("start the relayer of client %s on %s: %w", r.Client, r.On, err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait()
	if err := os.WriteFile(relayerFile(dir, r, ".pid"), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return pid, err
	}
	return pid, nil
}

// relayerPID is the recorded pid of r's relayer if that process is alive and is r's
// relayer (a recycled pid is never taken for it), else 0.
func relayerPID(dir string, r shard.Relayer) int {
	b, err := os.ReadFile(relayerFile(dir, r, ".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !alive(pid) || !isRelayer(pid, relayerHome(dir, r.On), r.Client) {
		return 0
	}
	return pid
}

// isRelayer checks that pid is `ehrchain ... relay --client id` with --home home.
func isRelayer(pid int, home, id string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	i := slices.Index(args, "--client")
	return ours(pid, home) && slices.Contains(args, "relay") && i >= 0 && i+1 < len(args) && args[i+1] == id
}

// StopRelayers stops the relayers with an end among the named chains (all when none):
// SIGTERM, then SIGKILL after grace.
func StopRelayers(dir string, names []string, grace time.Duration) error {
	l, err := LoadLayout(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range l.Relayers {
		if !touches(r, names) {
			continue
		}
		pid := relayerPID(dir, r)
		if pid == 0 {
			os.Remove(relayerFile(dir, r, ".pid"))
			continue
		}
		syscall.Kill(pid, syscall.SIGTERM)
		if !waitExit(pid, grace) {
			syscall.Kill(pid, syscall.SIGKILL)
			if !waitExit(pid, 5*time.Second) {
				errs = append(errs, fmt.Errorf("relayer of client %s on %s (pid %d) did not exit", r.Client, r.On, pid))
				continue
			}
		}
		os.Remove(relayerFile(dir, r, ".pid"))
	}
	return errors.Join(errs...)
}

func waitExit(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// RelayerStatus is one relayer line of `testnet status`.
type RelayerStatus struct {
	Client  string `json:"client"`
	Follows string `json:"follows"`
	PID     int    `json:"pid,omitempty"`
	Running bool   `json:"running"`
	Latest  int64  `json:"latest,omitempty"` // the client's latest verified height of Follows
	Frozen  bool   `json:"frozen,omitempty"`
	Error   string `json:"error,omitempty"` // the client could not be read
}

// relayersStatus are the relayers kept on chain on, read from its node at api.
func relayersStatus(ctx context.Context, dir string, l *Layout, on, api string) []RelayerStatus {
	var out []RelayerStatus
	for _, r := range l.Relayers {
		if r.On != on {
			continue
		}
		s := RelayerStatus{Client: r.Client, Follows: r.Follows, PID: relayerPID(dir, r)}
		s.Running = s.PID != 0
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		info, err := client.New(api).InterchainClient(c, r.Client)
		cancel()
		switch {
		case notFound(err):
			s.Error = "no light client yet (testnet start creates it)"
		case err != nil:
			s.Error = err.Error()
		default:
			s.Latest, s.Frozen = info.Client.LatestHeight, info.Client.Frozen
		}
		out = append(out, s)
	}
	return out
}
