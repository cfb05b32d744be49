package portal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/pquerna/otp/totp"

	"github.com/ehrchain/ehrchain/internal/keys"
)

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 at T=59, so
// its 6-digit code is 287082.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestTOTPCheck(t *testing.T) {
	at := time.Unix(59, 0)
	step, err := checkTOTP(rfcSecret, "287082", at, 0)
	if err != nil || step != 1 {
		t.Fatalf("RFC 6238 vector: step %d, %v", step, err)
	}
	if _, err := checkTOTP(rfcSecret, "287082", at, step); !errors.Is(err, errTOTPReplayed) {
		t.Errorf("replayed code: %v", err)
	}
	// One step of drift either way is accepted; two are not.
	for _, tc := range []struct {
		d    time.Duration
		want error
	}{{-30 * time.Second, nil}, {30 * time.Second, nil}, {-60 * time.Second, errTOTPWrong}, {61 * time.Second, errTOTPWrong}} {
		now := time.Unix(1_700_000_000, 0)
		c, _ := totp.GenerateCode(rfcSecret, now.Add(tc.d))
		if _, err := checkTOTP(rfcSecret, c, now, 0); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("code of now%+v: %v, want %v", tc.d, err, tc.want)
		}
	}
	// A code from an earlier step than the last accepted one is refused even within the skew.
	now := time.Unix(1_700_000_000, 0)
	prev, _ := totp.GenerateCode(rfcSecret, now.Add(-30*time.Second))
	if _, err := checkTOTP(rfcSecret, prev, now, totpStep(now)); !errors.Is(err, errTOTPReplayed) {
		t.Errorf("older code after a newer one: %v", err)
	}
	for _, bad := range []string{"", "12345", "1234567", "12a456", " 12345", "１２３４５６"} {
		if _, err := checkTOTP(rfcSecret, bad, now, 0); !errors.Is(err, errTOTPMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if locked, _ := l.locked("k", t0); locked {
			t.Fatalf("locked after %d failures", i)
		}
		l.fail("k", t0.Add(time.Duration(i)*time.Second))
	}
	locked, until := l.locked("k", t0.Add(3*time.Second))
	if !locked || !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 3 failures: locked %v until %v", locked, until)
	}
	if locked, _ := l.locked("other", t0); locked {
		t.Error("another key is locked too")
	}
	if locked, _ := l.locked("k", t0.Add(time.Minute)); locked {
		t.Error("still locked once the first failure left the window")
	}
	l.fail("k", t0.Add(2*time.Minute))
	l.reset("k")
	if locked, _ := l.locked("k", t0.Add(2*time.Minute)); locked {
		t.Error("locked after reset")
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

func TestSessionExpiryAndWipe(t *testing.T) {
	ks, err := keys.NewKeystore("w")
	if err != nil {
		t.Fatal(err)
	}
	sign := ks.Keys.Sign
	tab := &sessions{m: map[string]*session{}, idle: time.Minute, maxAge: time.Hour, pending: 10 * time.Second}
	t0 := time.Unix(5000, 0)
	s := &session{ks: ks, stage: stagePassphrase}
	tab.create(s, t0)
	if len(tab.sweep(t0.Add(9*time.Second))) != 0 {
		t.Fatal("pending session swept early")
	}
	if got := tab.sweep(t0.Add(10 * time.Second)); len(got) != 1 || s.ks != nil {
		t.Fatalf("pending session not swept and wiped: %d, ks %v", len(got), s.ks != nil)
	}
	for i, b := range sign {
		if b != 0 {
			t.Fatalf("signing key byte %d not zeroed", i)
		}
	}
	// Signed in: idle and absolute limits.
	a := &session{stage: stageSignedIn}
	tab.create(a, t0)
	for m := 1; m <= 59; m++ { // active every 59 s for nearly an hour
		if tab.expired(a, t0.Add(time.Duration(m)*59*time.Second)) {
			t.Fatalf("expired while active at minute %d", m)
		}
		a.lastSeen = t0.Add(time.Duration(m) * 59 * time.Second)
	}
	if !tab.expired(a, t0.Add(time.Hour)) {
		t.Error("session outlived its maximum age")
	}
	a.lastSeen = t0
	if !tab.expired(a, t0.Add(time.Minute)) {
		t.Error("idle session did not expire")
	}
}

// TestSignInLogChain edits and removes lines of the sign-in log and checks the hash chain
// names the first line after the change.
func TestSignInLogChain(t *testing.T) {
	dir := t.TempDir()
	l, err := openSignInLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if err := l.add(SignInEvent{Event: evSignInFailed, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	evs, broken, err := l.recent(10)
	if err != nil || broken != 0 || len(evs) != 3 || evs[0].Name != "carol" {
		t.Fatalf("intact log: %d events, broken %d, %v", len(evs), broken, err)
	}
	l.close()
	path := filepath.Join(dir, "signin.log")
	orig, _ := os.ReadFile(path)
	check := func(what string, data []byte, want int) {
		t.Helper()
		os.WriteFile(path, data, 0o600)
		l, err := openSignInLog(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		if _, broken, err := l.recent(10); err != nil || broken != want {
			t.Errorf("%s: broken at %d, want %d (%v)", what, broken, want, err)
		}
	}
	lines := strings.SplitAfter(string(orig), "\n")
	check("edited second line", []byte(lines[0]+strings.Replace(lines[1], "bob", "bot", 1)+lines[2]), 3)
	check("removed first line", []byte(lines[1]+lines[2]), 1)
	check("removed middle line", []byte(lines[0]+lines[2]), 2)
	check("untouched", orig, 0)
	// Appending after a reopen continues the chain.
	l2, _ := openSignInLog(dir)
	l2.add(SignInEvent{Event: evSignOut, Name: "dave"})
	if _, broken, _ := l2.recent(10); broken != 0 {
		t.Errorf("chain broken at %d after an append following a reopen", broken)
	}
	l2.close()
}

// TestSeenStore: what a patient was shown survives a reopen; a failed write leaves them
// still to be told; a damaged file is an error, not "nothing seen" and not "all seen".
func TestSeenStore(t *testing.T) {
	dir := t.TempDir()
	s, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.mark("pat", map[string]string{"e-1": "awaiting justification"}); err != nil {
		t.Fatal(err)
	}
	if err := s.mark("pat", map[string]string{"e-2": "reviewed"}); err != nil {
		t.Fatal(err)
	}
	s2, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.get("pat"); len(got) != 2 || got["e-1"] != "awaiting justification" || got["e-2"] != "reviewed" {
		t.Fatalf("after a reopen: %v", got)
	}
	if got := s2.get("someone else"); len(got) != 0 {
		t.Fatalf("another patient's seen set: %v", got)
	}
	// The write fails (its directory is gone): nothing changes in memory either.
	gone := filepath.Join(t.TempDir(), "portal")
	os.MkdirAll(gone, 0o700)
	s3, err := openSeen(gone)
	if err != nil {
		t.Fatal(err)
	}
	s3.mark("pat", map[string]string{"e-1": "awaiting review"})
	os.RemoveAll(gone)
	if err := s3.mark("pat", map[string]string{"e-1": "reviewed", "e-9": "reviewed"}); err == nil {
		t.Fatal("a mark whose write failed reported success")
	}
	if got := s3.get("pat"); got["e-1"] != "awaiting review" || got["e-9"] != "" {
		t.Fatalf("after a failed write: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "emergency-seen.json"), []byte(`{"pat": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSeen(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file: %v", err)
	}
}
