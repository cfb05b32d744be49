package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
)

// TestRelayCommands: on two chains run as processes, A's registrar creates a light client
// of B from B's block 2 only when its hash is the one expected; a provider relays once
// (cross-checked with a witness), then as a loop until interrupted, and `interchain show`
// follows.
func TestRelayCommands(t *testing.T) {
	homeA, homeB := initHome(t), initHome(t, "--chain-id", "proc-b")
	a, b := startProc(t, homeA), startProc(t, homeB)
	try, cli := a.commands(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cli("keys", "add", "rl")
	cli("identity", "register", "--as", "registrar", "--key", "rl", "--role", "provider", "--org", "St Mary", "--licence", "MD-1")

	// Chain B has made block 2 and the one after it (whose commit signs block 2), and a
	// block beyond the client's start for `relay --once` to find.
	bc := client.New(b.api)
	waitFor(t, func() bool { st, err := bc.Status(ctx); return err == nil && st.Height >= 3 }, "chain B to reach height 3")
	lb, err := bc.LightBlock(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	create := []string{"interchain", "create", "--client", "b", "--from", b.api, "--height", "2", "--trusting-period", "336h", "--as", "registrar"}
	if out, err := try(append(create, "--expect-hash", strings.Repeat("ab", 32))...); err == nil || !strings.Contains(out, "not the expected") {
		t.Fatalf("create with another block's hash: %v\n%s", err, out)
	}
	if out, err := try("interchain", "show", "b"); err == nil || !strings.Contains(out, "interchain/4") {
		t.Fatalf("a refused create left a client: %v\n%s", err, out)
	}
	if out, err := try("interchain", "create", "--client", "b2", "--from", b.api, "--trusting-period", "336h", "--as", "rl"); err == nil || !strings.Contains(out, "interchain/1") {
		t.Fatalf("a provider created a client: %v\n%s", err, out)
	}
	if out := cli(append(create, "--expect-hash", hex.EncodeToString(lb.Hash))...); !strings.Contains(out, "created light client b of chain proc-b at height 2") {
		t.Fatalf("create: %s", out)
	}
	if out := cli("interchain", "show", "b"); !strings.Contains(out, "latest verified height 2;") {
		t.Fatalf("show: %s", out)
	}

	out := cli("relay", "--from", b.api, "--witness", b.api, "--client", "b", "--as", "rl", "--once") // a witness that agrees changes nothing
	m := regexp.MustCompile(`now at height (\d+) \(was 2\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("relay --once: %s", out)
	}
	once, _ := strconv.ParseInt(m[1], 10, 64)
	if out := cli("interchain", "show", "b"); !strings.Contains(out, "latest verified height "+m[1]+";") {
		t.Fatalf("show after relaying %d: %s", once, out)
	}
	if out, err := try("relay", "--from", b.api, "--client", "nosuch", "--as", "rl", "--once"); err == nil || !strings.Contains(out, "interchain/4") {
		t.Fatalf("relay to no client: %v\n%s", err, out)
	}

	// The loop, until SIGINT.
	loop := exec.Command(binary, "--home", a.home, "--node", a.api, "relay", "--from", b.api, "--client", "b", "--as", "rl", "--every", "200ms")
	loop.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE="+testPass)
	var logs bytes.Buffer
	loop.Stdout, loop.Stderr = &logs, &logs
	if err := loop.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- loop.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			loop.Process.Kill()
			<-exited
		}
	}()
	ca := client.New(a.api)
	for {
		c, err := ca.InterchainClient(ctx, "b")
		if err == nil && c.Client.LatestHeight > once+2 {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("the relay loop exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("the relay loop did not move the client past %d\n%s", once+2, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	loop.Process.Signal(os.Interrupt)
	err = <-exited
	stopped = true
	if err != nil {
		t.Fatalf("the relay loop on SIGINT: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "relayed header") {
		t.Fatalf("the loop logged no header:\n%s", logs.String())
	}
}
