package client

import (
	"os/exec"
	"strings"
	"testing"
)

// heavy are the module paths a program that only talks HTTP to a node must not compile:
// the consensus engine and the state store.
var heavy = []string{"github.com/cometbft/", "github.com/cockroachdb/", "github.com/cosmos/iavl"}

// TestClientStandsAlone holds the client, the wire bodies it decodes and the domain
// vocabularies those embed to importing neither consensus nor storage: go list -deps of
// each must name none of the heavy packages.
func TestClientStandsAlone(t *testing.T) {
	const mod = "github.com/ehrchain/ehrchain/internal/"
	for _, pkg := range []string{"client", "wire", "identity", "consent", "records", "claims", "emergency", "trials", "audit", "validators", "decodecache", "stateproof"} {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list -deps %s listed nothing", pkg)
		}
		for _, d := range deps {
			for _, h := range heavy {
				if strings.HasPrefix(d, h) {
					t.Errorf("%s depends on %s: a client must build without consensus or storage", pkg, d)
				}
			}
		}
	}
}

// TestHeavyCheckSeesTheNode is the check's own test: the node does import them, so a
// heavy-package test that found nothing there would be blind.
func TestHeavyCheckSeesTheNode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ehrchain/ehrchain/internal/node").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps node: %v\n%s", err, out)
	}
	for _, h := range heavy {
		if !strings.Contains(string(out), h) {
			t.Errorf("node does not list %s: the heavy prefixes are out of date", h)
		}
	}
}
