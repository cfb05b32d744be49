package signin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/pquerna/otp/totp"
)

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 at T=59, so
// its 6-digit code is 287082.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestTOTPCheck(t *testing.T) {
	at := time.Unix(59, 0)
	step, err := CheckTOTP(rfcSecret, "287082", at, 0)
	if err != nil || step != 1 {
		t.Fatalf("RFC 6238 vector: step %d, %v", step, err)
	}
	if _, err := CheckTOTP(rfcSecret, "287082", at, step); !errors.Is(err, errTOTPReplayed) {
		t.Errorf("replayed code: %v", err)
	}
	// One step of drift either way is accepted; two are not.
	for _, tc := range []struct {
		d    time.Duration
		want error
	}{{-30 * time.Second, nil}, {30 * time.Second, nil}, {-60 * time.Second, errTOTPWrong}, {61 * time.Second, errTOTPWrong}} {
		now := time.Unix(1_700_000_000, 0)
		c, _ := totp.GenerateCode(rfcSecret, now.Add(tc.d))
		if _, err := CheckTOTP(rfcSecret, c, now, 0); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("code of now%+v: %v, want %v", tc.d, err, tc.want)
		}
	}
	// A code from an earlier step than the last accepted one is refused even within the skew.
	now := time.Unix(1_700_000_000, 0)
	prev, _ := totp.GenerateCode(rfcSecret, now.Add(-30*time.Second))
	if _, err := CheckTOTP(rfcSecret, prev, now, TOTPStep(now)); !errors.Is(err, errTOTPReplayed) {
		t.Errorf("older code after a newer one: %v", err)
	}
	for _, bad := range []string{"", "12345", "1234567", "12a456", " 12345", "１２３４５６"} {
		if _, err := CheckTOTP(rfcSecret, bad, now, 0); !errors.Is(err, errTOTPMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestStoreDurable(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update("id1", func(f *Factors) error {
		f.TOTPSecret, f.TOTPLastStep = "SECRET", 42
		f.Passkeys = append(f.Passkeys, webauthn.Credential{ID: []byte("cred")})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A failing update changes nothing, in memory or on disk.
	boom := errors.New("no")
	if err := s.Update("id1", func(f *Factors) error { f.TOTPLastStep = 99; f.Passkeys = nil; return boom }); err != boom {
		t.Fatal(err)
	}
	if f := s.Get("id1"); f.TOTPLastStep != 42 || len(f.Passkeys) != 1 {
		t.Fatalf("failed update leaked: %+v", f)
	}
	// Get returns a copy.
	s.Get("id1").Passkeys[0].ID[0] = 'X'
	s.Get("id1").Passkeys = nil
	re, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := re.Get("id1")
	if f == nil || f.TOTPSecret != "SECRET" || f.TOTPLastStep != 42 || len(f.Passkeys) != 1 || len(f.UserHandle) != 32 || !f.Enrolled() {
		t.Fatalf("after reopen: %+v", f)
	}
	if re.Get("nobody").Enrolled() {
		t.Error("unknown identity enrolled")
	}
	if fi, _ := os.Stat(filepath.Join(dir, "factors.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("factors.json mode %v", fi.Mode().Perm())
	}
	// A damaged file is an error, never an empty store (which would let anyone enrol afresh).
	os.WriteFile(filepath.Join(dir, "factors.json"), []byte(`{"id1": {"totp_secret": `), 0o600)
	if _, err := OpenStore(dir); err == nil {
		t.Fatal("damaged store opened")
	}
}

// TestSignInLogChain edits and removes lines of the sign-in log and checks the hash chain
// names the first line after the change.
func TestSignInLogChain(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if err := l.Add(Event{Event: EvSignInFailed, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	evs, broken, err := l.Recent(10)
	if err != nil || broken != 0 || len(evs) != 3 || evs[0].Name != "carol" {
		t.Fatalf("intact log: %d events, broken %d, %v", len(evs), broken, err)
	}
	l.Close()
	path := filepath.Join(dir, "signin.log")
	orig, _ := os.ReadFile(path)
	check := func(what string, data []byte, want int) {
		t.Helper()
		os.WriteFile(path, data, 0o600)
		l, err := OpenLog(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, broken, err := l.Recent(10); err != nil || broken != want {
			t.Errorf("%s: broken at %d, want %d (%v)", what, broken, want, err)
		}
	}
	lines := strings.SplitAfter(string(orig), "\n")
	check("edited second line", []byte(lines[0]+strings.Replace(lines[1], "bob", "bot", 1)+lines[2]), 3)
	check("removed first line", []byte(lines[1]+lines[2]), 1)
	check("removed middle line", []byte(lines[0]+lines[2]), 2)
	check("untouched", orig, 0)
	// Appending after a reopen continues the chain.
	l2, _ := OpenLog(dir)
	l2.Add(Event{Event: EvSignOut, Name: "dave"})
	if _, broken, _ := l2.Recent(10); broken != 0 {
		t.Errorf("chain broken at %d after an append following a reopen", broken)
	}
	l2.Close()
}
