package keys

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"testing"
)

func newCategoryKey(t testing.TB) hpke.PrivateKey {
	t.Helper()
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeystore(t *testing.T) {
	ks, err := NewKeystore("dr-alice")
	if err != nil {
		t.Fatal(err)
	}
	if ks.Name != "dr-alice" || ks.ID != IDFromSignKey(ks.Keys.SignPublic()) {
		t.Errorf("got name %q id %q", ks.Name, ks.ID)
	}
	if _, err := NewKeystore("../evil"); !errors.Is(err, ErrBadName) {
		t.Errorf("bad name: got %v, want ErrBadName", err)
	}
}

func TestRotateKeepsIDAndOldKeysOpenOldWraps(t *testing.T) {
	pass := []byte("rotate me")
	ks, err := NewKeystore("patient-1")
	if err != nil {
		t.Fatal(err)
	}
	id := ks.ID
	oldPub := ks.Keys.EncPublic()
	pub, err := ParseEncPublic(oldPub)
	if err != nil {
		t.Fatal(err)
	}
	info := []byte("test wrap")
	wrapped, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), info, []byte("old data key"))
	if err != nil {
		t.Fatal(err)
	}

	newKP, err := ks.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if ks.ID != id {
		t.Fatalf("rotation changed id %s -> %s", id, ks.ID)
	}
	if ks.Keys != newKP || len(ks.Previous) != 1 || !bytes.Equal(ks.Previous[0].EncPublic(), oldPub) {
		t.Fatal("rotation did not move the old pair to Previous")
	}
	if bytes.Equal(newKP.EncPublic(), oldPub) {
		t.Fatal("rotation reused the old encryption key")
	}
	if _, err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}

	// Survive a save/load cycle, then open the old wrap with the oldest key.
	data, err := Encrypt(ks, pass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(data, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || len(got.Previous) != 2 {
		t.Fatalf("after reload: id %s, %d previous", got.ID, len(got.Previous))
	}
	pt, err := hpke.Open(got.Previous[0].Enc, hpke.HKDFSHA256(), hpke.AES256GCM(), info, wrapped)
	if err != nil || string(pt) != "old data key" {
		t.Fatalf("old key cannot open old wrap: %v", err)
	}
	if _, err := hpke.Open(got.Keys.Enc, hpke.HKDFSHA256(), hpke.AES256GCM(), info, wrapped); err == nil {
		t.Fatal("current key opened a wrap made for the old key")
	}
	if _, err := (&Keystore{}).Rotate(); !errors.Is(err, ErrInvalidKeystore) {
		t.Errorf("rotate empty keystore: got %v", err)
	}
}

func TestCategoryKeys(t *testing.T) {
	ks := &Keystore{}
	k1, k2, k3, k2b := newCategoryKey(t), newCategoryKey(t), newCategoryKey(t), newCategoryKey(t)
	ks.AddCategoryKey("labs", 1, k1)
	ks.AddCategoryKey("labs", 3, k3)
	ks.AddCategoryKey("labs", 2, k2)
	ks.AddCategoryKey("imaging", 7, k1)

	if _, ok := ks.LatestCategoryKey("mental-health"); ok {
		t.Error("latest key for an unknown category")
	}
	latest, ok := ks.LatestCategoryKey("labs")
	if !ok || latest.Version != 3 || latest.Priv != k3 || latest.Category != "labs" {
		t.Errorf("latest labs = %+v, %v", latest, ok)
	}
	if got, ok := ks.CategoryKey("labs", 2); !ok || got != k2 {
		t.Error("CategoryKey(labs, 2) wrong")
	}
	if _, ok := ks.CategoryKey("labs", 4); ok {
		t.Error("CategoryKey found a version never added")
	}
	ks.AddCategoryKey("labs", 2, k2b)
	if got, _ := ks.CategoryKey("labs", 2); got != k2b || len(ks.Category) != 4 {
		t.Error("re-adding a version did not replace it in place")
	}
}
