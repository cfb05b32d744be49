package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
)

// TestPortalResetFactors removes an identity's second factors with the CLI: refused while the
// node runs (the running portal owns the store) and without a reason; then done, and logged.
func TestPortalResetFactors(t *testing.T) {
	home := initHome(t)
	data, err := keys.Dir{Path: filepath.Join(home, "keys")}.Load("registrar")
	if err != nil {
		t.Fatal(err)
	}
	info, err := keys.PublicInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "portal")
	st, err := signin.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(info.ID, func(f *signin.Factors) error { f.TOTPSecret = "JBSWY3DPEHPK3PXP"; return nil }); err != nil {
		t.Fatal(err)
	}
	enrolled := func() bool {
		st, err := signin.OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st.Get(info.ID).Enrolled()
	}

	p := startProc(t, home)
	if out, err := run(t, "--home", home, "portal", "reset-factors", "registrar", "--reason", "lost phone"); err == nil || !strings.Contains(out, "running node") {
		t.Fatalf("reset while the node runs: %v\n%s", err, out)
	}
	p.kill()
	if !enrolled() {
		t.Fatal("a refused reset changed the store")
	}
	if out, err := run(t, "--home", home, "portal", "reset-factors", "registrar"); err == nil || !strings.Contains(out, "reason") {
		t.Fatalf("reset without a reason: %v\n%s", err, out)
	}
	out, err := run(t, "--home", home, "portal", "reset-factors", "registrar", "--reason", "lost phone")
	if err != nil || !strings.Contains(out, "removed the second factors of registrar") {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	if enrolled() {
		t.Fatal("still enrolled after the reset")
	}
	lg, err := os.ReadFile(filepath.Join(dir, "signin.log"))
	if err != nil || !strings.Contains(string(lg), `"event":"factor.reset"`) || !strings.Contains(string(lg), "lost phone") {
		t.Fatalf("sign-in log: %v\n%s", err, lg)
	}
}
