package operator

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestRequire(t *testing.T) {
	home := t.TempDir()
	tok, err := EnsureToken(home)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureToken(home)
	if err != nil || again != tok {
		t.Fatalf("second EnsureToken = %q, %v; want the same token", again, err)
	}
	if fi, _ := os.Stat(TokenPath(home)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token mode %v, want 0600", fi.Mode().Perm())
	}
	h := Require(tok, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, c := range []struct {
		name, remote, auth string
		want               int
	}{
		{"loopback with token", "127.0.0.1:5000", "Bearer " + tok, 204},
		{"ipv6 loopback with token", "[::1]:5000", "Bearer " + tok, 204},
		{"remote with token", "10.0.0.7:5000", "Bearer " + tok, 403},
		{"loopback without token", "127.0.0.1:5000", "", 401},
		{"loopback wrong token", "127.0.0.1:5000", "Bearer " + tok[:63] + "x", 401},
		{"loopback token without scheme", "127.0.0.1:5000", tok, 401},
	} {
		r := httptest.NewRequest("POST", Prefix+"verify", nil)
		r.RemoteAddr = c.remote
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.want)
		}
	}
}

func TestLoadTokenDamaged(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(TokenPath(home), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadToken(home); err == nil {
		t.Fatal("a damaged token file was accepted")
	}
}
