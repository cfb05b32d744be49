package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A doctored manifest must not steer restore outside the home or into files a backup
// never holds.
func TestCheckPathRefusesEscapes(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "app/../../x", "app/./state.db", "operator.token",
		"ehrchain.lock", "config\\x", "app//x", "data/cs.wal/../../../x"} {
		if err := checkPath(p); err == nil {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"config/genesis.json", "app/state.db/000005.sst", "data/blockstore.db/CURRENT", "portal/signin.log", "keys/registrar.json"} {
		if err := checkPath(p); err != nil {
			t.Errorf("checkPath(%q): %v", p, err)
		}
	}
}

func TestReadManifestRefusesKeysItDoesNotClaim(t *testing.T) {
	dir := t.TempDir()
	sum := strings.Repeat("a", 64)
	for _, c := range []struct{ name, body, want string }{
		{"keystore in a keyless backup", `{"format":1,"chain_id":"c","height":3,"app_hash":"AB","keys":false,"files":[{"path":"keys/r.json","size":1,"sha256":"` + sum + `"}]}`, "holds no keys"},
		{"validator key in a keyless backup", `{"format":1,"chain_id":"c","height":3,"app_hash":"AB","files":[{"path":"config/priv_validator_key.json","size":1,"sha256":"` + sum + `"}]}`, "holds no keys"},
		{"duplicate", `{"format":1,"chain_id":"c","height":3,"app_hash":"AB","files":[{"path":"config/a","size":1,"sha256":"` + sum + `"},{"path":"config/a","size":1,"sha256":"` + sum + `"}]}`, "twice"},
		{"bad digest", `{"format":1,"chain_id":"c","height":3,"app_hash":"AB","files":[{"path":"config/a","size":1,"sha256":"xy"}]}`, "SHA-256"},
		{"other format", `{"format":2,"chain_id":"c","height":3,"app_hash":"AB"}`, "format 2"},
		{"no height", `{"format":1,"chain_id":"c","app_hash":"AB"}`, "height"},
	} {
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if _, err := ReadManifest(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("missing manifest: %v", err)
	}
}
