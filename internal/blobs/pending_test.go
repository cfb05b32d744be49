package blobs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"testing"
	"time"
)

func blob(b byte, n int) ([]byte, [32]byte) {
	data := bytes.Repeat([]byte{b}, n)
	return data, sha256.Sum256(data)
}

// TestSweepDeletesOnlyUnreferenced: with an injected clock, an upload no record names is
// deleted once the grace period has passed, never before; a referenced one, one referenced
// only after the grace period expired but before the sweep, and one uploaded after its
// record committed all stay.
func TestSweepDeletesOnlyUnreferenced(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.SetPolicy(Policy{Grace: time.Hour, Quota: 1 << 20})
	t0 := time.Unix(1_800_000_000, 0)
	orphan, dOrphan := blob('o', 1000)
	kept, dKept := blob('k', 2000)
	late, dLate := blob('l', 3000)
	first, dFirst := blob('f', 4000)
	for _, u := range []struct {
		data []byte
		d    [32]byte
	}{{orphan, dOrphan}, {kept, dKept}, {late, dLate}} {
		if err := s.Upload(u.d, u.data, "alice", t0); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Owed("alice"); got != 6000 {
		t.Fatalf("owed %d, want 6000", got)
	}
	if err := s.MarkReferenced(dKept); err != nil {
		t.Fatal(err)
	}
	if got := s.Owed("alice"); got != 4000 {
		t.Fatalf("owed after a record referenced one: %d, want 4000", got)
	}
	// The record commits first, the upload comes after: referenced, never charged or swept.
	if err := s.MarkReferenced(dFirst); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(dFirst, first, "alice", t0); err != nil {
		t.Fatal(err)
	}
	if got := s.Owed("alice"); got != 4000 {
		t.Fatalf("a blob already referenced was charged: owed %d", got)
	}

	// Someone else sending the orphan's bytes is not charged and does not keep it alive.
	if err := s.Upload(dOrphan, orphan, "mallory", t0.Add(30*time.Minute)); err != nil || s.Owed("mallory") != 0 {
		t.Fatalf("a second copy: %v, owed %d", err, s.Owed("mallory"))
	}
	if del, err := s.Sweep(t0.Add(time.Hour - time.Second)); err != nil || len(del) != 0 {
		t.Fatalf("sweep inside the grace period deleted %x (%v)", del, err)
	}
	if err := s.MarkReferenced(dLate); err != nil { // grace over, record just in time
		t.Fatal(err)
	}
	del, err := s.Sweep(t0.Add(time.Hour))
	if err != nil || len(del) != 1 || del[0] != dOrphan {
		t.Fatalf("sweep deleted %x (%v), want only the orphan", del, err)
	}
	if _, err := s.Get(dOrphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("orphan still readable: %v", err)
	}
	for _, d := range [][32]byte{dKept, dLate, dFirst} {
		if _, err := s.Get(d); err != nil {
			t.Fatalf("referenced blob %x: %v", d[:4], err)
		}
	}
	if s.Owed("alice") != 0 || s.Pending() != 0 {
		t.Fatalf("after the sweep: owed %d, pending %d", s.Owed("alice"), s.Pending())
	}
	if del, _ := s.Sweep(t0.Add(100 * time.Hour)); len(del) != 0 {
		t.Fatalf("a later sweep deleted referenced blobs %x", del)
	}
}

// TestRetryRenewsGrace: the uploader sending the same bytes again (a retried upload)
// restarts the grace period, once, and is charged once; a restart keeps the renewed time.
func TestRetryRenewsGrace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	data, d := blob('r', 500)
	if err := s.Upload(d, data, "alice", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(d, data, "alice", t0.Add(50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s.Owed("alice") != 500 {
		t.Fatalf("charged %d for one blob sent twice", s.Owed("alice"))
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if del, _ := s2.Sweep(t0.Add(time.Hour)); len(del) != 0 {
		t.Fatal("a renewed upload was swept on its first grace period")
	}
	if del, _ := s2.Sweep(t0.Add(110 * time.Minute)); len(del) != 1 {
		t.Fatal("a renewed upload outlived its renewed grace period")
	}
}

// TestQuotaPerIdentity: an identity cannot hold more unreferenced bytes than the quota;
// another identity is unaffected, and a reference frees room.
func TestQuotaPerIdentity(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.SetPolicy(Policy{Grace: time.Hour, Quota: 5000})
	now := time.Unix(1_800_000_000, 0)
	a, da := blob('a', 3000)
	b, db := blob('b', 3000)
	if err := s.Upload(da, a, "alice", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(db, b, "alice", now); !errors.Is(err, ErrQuota) {
		t.Fatalf("upload past the quota: %v", err)
	}
	if s.Has(db) || s.Owed("alice") != 3000 {
		t.Fatalf("refused upload left bytes (%v) or a charge (%d)", s.Has(db), s.Owed("alice"))
	}
	if err := s.Upload(db, b, "bob", now); err != nil {
		t.Fatalf("another identity's upload: %v", err)
	}
	c, dc := blob('c', 3000)
	if err := s.MarkReferenced(da); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(dc, c, "alice", now); err != nil {
		t.Fatalf("upload after a reference freed room: %v", err)
	}
	// Bytes that do not hash to the digest are refused before anything is charged.
	if err := s.Upload(dc, a, "carol", now); !errors.Is(err, ErrDigest) || s.Owed("carol") != 0 {
		t.Fatalf("wrong bytes: %v, owed %d", err, s.Owed("carol"))
	}
}

// TestPendingSurvivesRestart: charges and ages are kept on disk, so a restart neither
// forgives an uploader nor keeps an orphan forever; crash leftovers are cleaned.
func TestPendingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	o, do := blob('o', 1234)
	r, dr := blob('r', 999)
	if err := s.Upload(do, o, "alice", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(dr, r, "alice", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkReferenced(dr); err != nil {
		t.Fatal(err)
	}
	// A marker whose blob was never written (crash mid-upload) and a half-written temp file.
	_, dGhost := blob('g', 10)
	if err := s.writeMarker(dGhost, upload{owner: "alice", size: 10, at: t0.UnixNano()}); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, ".up-*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()

	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Owed("alice"); got != 1234 || s2.Pending() != 1 {
		t.Fatalf("after restart: owed %d pending %d, want 1234 and 1", got, s2.Pending())
	}
	if _, err := os.Stat(tmp.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left: %v", err)
	}
	del, err := s2.Sweep(t0.Add(DefaultGrace))
	if err != nil || len(del) != 1 || del[0] != do {
		t.Fatalf("sweep after restart: %x %v", del, err)
	}
	if _, err := s2.Get(dr); err != nil {
		t.Fatalf("referenced blob after restart and sweep: %v", err)
	}
}

// TestReservationsBoundInFlight: quota is charged before a body is read, so uploads in
// flight count, concurrent uploads never pass the quota together, and a failed or
// abandoned upload gives its charge back.
func TestReservationsBoundInFlight(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.SetPolicy(Policy{Grace: time.Hour, Quota: 5000})
	now := time.Unix(1_800_000_000, 0)
	r1, err := s.Reserve("alice", 3000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve("alice", 3000); !errors.Is(err, ErrQuota) {
		t.Fatalf("a second reservation while the first is in flight: %v", err)
	}
	data, d := blob('x', 2999)
	if err := r1.Upload(d, data, now); err == nil {
		t.Fatal("bytes of another size than reserved were stored")
	}
	if s.Owed("alice") != 0 || s.Has(d) {
		t.Fatalf("a failed upload kept its charge (%d) or bytes", s.Owed("alice"))
	}
	r2, err := s.Reserve("alice", 3000)
	if err != nil {
		t.Fatal(err)
	}
	r2.Release()
	r2.Release()
	if s.Owed("alice") != 0 {
		t.Fatalf("abandoned reservation kept %d bytes", s.Owed("alice"))
	}

	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() {
			data, d := blob(byte(i), 1000)
			errs <- s.Upload(d, data, "bob", now)
		}()
	}
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, ErrQuota):
			t.Fatal(err)
		}
	}
	if ok != 5 || s.Owed("bob") != 5000 || s.Pending() != 5 {
		t.Fatalf("%d concurrent uploads stored, owed %d, pending %d; want 5, 5000, 5", ok, s.Owed("bob"), s.Pending())
	}
}
