package emergency

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/openbao/openbao/sdk/v2/helper/shamir"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// escrowFixture is a patient with a category key escrowed 3-of-5 across five custodians,
// and a declaration by one provider.
type escrowFixture struct {
	patient    *keys.Keystore
	custodians []*keys.Keystore
	provider   *keys.Keystore
	escrow     *Escrow
	decl       *Declaration
	seed       []byte
}

func ident(ks *keys.Keystore) *identity.Identity {
	return &identity.Identity{ID: ks.ID, EncKey: ks.Keys.EncPublic(), SignKey: ks.Keys.SignPublic()}
}

func newKS(t *testing.T, name string) *keys.Keystore {
	t.Helper()
	ks, err := keys.NewKeystore(name)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func newEscrowFixture(t *testing.T, k, n int) *escrowFixture {
	t.Helper()
	f := &escrowFixture{patient: newKS(t, "pat"), provider: newKS(t, "dr")}
	cat, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	f.patient.AddCategoryKey("general", 1, cat.Enc)
	f.seed, _ = cat.Enc.Bytes()
	var ids []*identity.Identity
	for range n {
		c := newKS(t, "cust")
		f.custodians = append(f.custodians, c)
		ids = append(ids, ident(c))
	}
	body, err := Split(f.patient, "general", 1, k, ids)
	if err != nil {
		t.Fatal(err)
	}
	f.escrow = &Escrow{Patient: f.patient.ID, Category: "general", Version: 1, EncKey: cat.EncPublic(), Threshold: k, Shares: body.Shares}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.decl = &Declaration{ID: "e-0123456789abcdef", Patient: f.patient.ID, Provider: f.provider.ID, Categories: []string{"general"},
		Start: now, Expiry: now.Add(time.Hour)}
	return f
}

// release has custodians[i] for each i re-seal their share to the declaring provider.
func (f *escrowFixture) release(t *testing.T, idx ...int) {
	t.Helper()
	for _, i := range idx {
		b, err := Reseal(f.custodians[i], f.escrow, f.decl, ident(f.provider))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Sealed) != SealedShareSize {
			t.Fatalf("sealed share is %d bytes, the handlers expect %d", len(b.Sealed), SealedShareSize)
		}
		f.decl.Releases = append(f.decl.Releases, Release{Custodian: f.custodians[i].ID, Category: b.Category, Version: b.Version, Slot: i, Escrow: f.escrow.Height, Sealed: b.Sealed})
	}
}

func TestEscrowThreshold(t *testing.T) {
	f := newEscrowFixture(t, 3, 5)
	for _, s := range f.escrow.Shares {
		if len(s.Sealed) != SealedShareSize {
			t.Fatalf("escrowed share is %d bytes, want %d", len(s.Sealed), SealedShareSize)
		}
	}
	f.release(t, 0, 3) // k-1 institutions cooperate
	if _, err := Reconstruct(f.provider, f.decl, f.escrow); !errors.Is(err, ErrReconstruct) {
		t.Fatalf("k-1 shares rebuilt a key (err %v)", err)
	}
	f.release(t, 4) // the k-th
	priv, err := Reconstruct(f.provider, f.decl, f.escrow)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := priv.Bytes()
	if !bytes.Equal(got, f.seed) {
		t.Fatal("k shares rebuilt another key")
	}
}

// TestEscrowKMinusOneRawShares checks the property below the API: combining any k-1 raw
// shares (with the custodians' own keys) never yields the seed.
func TestEscrowKMinusOneRawShares(t *testing.T) {
	f := newEscrowFixture(t, 3, 5)
	var raw [][]byte
	for i, c := range f.custodians {
		s, err := open(keyPairs(c), f.escrow.Shares[i].Sealed, escrowAAD(f.patient.ID, "general", 1, c.ID))
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, s)
	}
	for i := range raw {
		for j := i + 1; j < len(raw); j++ {
			got, err := shamir.Combine([][]byte{raw[i], raw[j]})
			if err == nil && bytes.Equal(got, f.seed) {
				t.Fatalf("shares %d and %d alone rebuilt the seed", i, j)
			}
			if _, err := Combine([][]byte{raw[i], raw[j]}, f.escrow); !errors.Is(err, ErrReconstruct) {
				t.Fatalf("Combine accepted 2 of 3 shares: %v", err)
			}
		}
	}
	if _, err := Combine(raw[1:4], f.escrow); err != nil {
		t.Fatalf("3 of 5 raw shares: %v", err)
	}
}

func TestEscrowOnlyDeclaringProvider(t *testing.T) {
	f := newEscrowFixture(t, 2, 3)
	f.release(t, 0, 1, 2)
	other := newKS(t, "other-dr")
	if _, err := Reconstruct(other, f.decl, f.escrow); !errors.Is(err, ErrReconstruct) {
		t.Fatalf("a provider who did not declare rebuilt the key: %v", err)
	}
	// A custodian cannot open another custodian's share, nor a released one.
	if _, err := open(keyPairs(f.custodians[1]), f.escrow.Shares[0].Sealed, escrowAAD(f.patient.ID, "general", 1, f.custodians[1].ID)); err == nil {
		t.Fatal("custodian 1 opened custodian 0's share")
	}
	if _, err := Reconstruct(f.custodians[0], f.decl, f.escrow); err == nil {
		t.Fatal("a custodian rebuilt the key from the provider's releases")
	}
	// Shares released for one declaration do not open for another.
	moved := *f.decl
	moved.ID = "e-fedcba9876543210"
	if _, err := Reconstruct(f.provider, &moved, f.escrow); !errors.Is(err, ErrReconstruct) {
		t.Fatal("shares released for one declaration opened under another")
	}
	// Reseal refuses to seal to anyone but the declaring provider.
	if _, err := Reseal(f.custodians[0], f.escrow, f.decl, ident(other)); err == nil {
		t.Fatal("Reseal sealed a share to a provider who did not declare")
	}
}

func TestEscrowTamperedShare(t *testing.T) {
	f := newEscrowFixture(t, 2, 3)
	f.release(t, 0, 1)
	f.decl.Releases[1].Sealed[len(f.decl.Releases[1].Sealed)-1] ^= 1
	if _, err := Reconstruct(f.provider, f.decl, f.escrow); !errors.Is(err, ErrReconstruct) {
		t.Fatalf("a tampered share passed: %v", err)
	}
	// A custodian's escrowed share bound to another category does not open.
	if _, err := open(keyPairs(f.custodians[0]), f.escrow.Shares[0].Sealed, escrowAAD(f.patient.ID, "hiv", 1, f.custodians[0].ID)); err == nil {
		t.Fatal("a share opened under another category's binding")
	}
	// Shares that combine to a key other than the escrowed one are refused.
	wrong := *f.escrow
	other, _ := keys.Generate()
	wrong.EncKey = other.EncPublic()
	f.decl.Releases = nil
	f.release(t, 0, 1)
	if _, err := Reconstruct(f.provider, f.decl, &wrong); !errors.Is(err, ErrReconstruct) {
		t.Fatal("a reconstruction that does not match the escrowed public key was accepted")
	}
}

func TestSplitRefusesWeakPolicies(t *testing.T) {
	f := newEscrowFixture(t, 2, 2)
	c := []*identity.Identity{ident(f.custodians[0]), ident(f.custodians[1])}
	for _, k := range []int{0, 1, 3} {
		if _, err := Split(f.patient, "general", 1, k, c); err == nil {
			t.Fatalf("threshold %d of 2 accepted", k)
		}
	}
	if _, err := Split(f.patient, "general", 2, 2, c); err == nil {
		t.Fatal("split a key version the keystore does not hold")
	}
}

// TestEscrowLyingCustodian: one custodian releases a validly sealed but wrong share; with
// k honest releases besides it the provider still rebuilds the key, and with only k-1 it
// does not.
func TestEscrowLyingCustodian(t *testing.T) {
	f := newEscrowFixture(t, 2, 3)
	f.release(t, 0)
	liar := make([]byte, ShareSize)
	liar[ShareSize-1] = 77 // an x coordinate with garbage y values
	sealed, err := seal(f.provider.Keys.EncPublic(), liar, releaseAAD(f.decl, "general", 1))
	if err != nil {
		t.Fatal(err)
	}
	f.decl.Releases = append(f.decl.Releases, Release{Custodian: f.custodians[1].ID, Category: "general", Version: 1, Slot: 1, Sealed: sealed})
	if _, err := Reconstruct(f.provider, f.decl, f.escrow); !errors.Is(err, ErrReconstruct) {
		t.Fatalf("one honest share and a lie rebuilt a key: %v", err)
	}
	f.release(t, 2)
	priv, err := Reconstruct(f.provider, f.decl, f.escrow)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := priv.Bytes(); !bytes.Equal(got, f.seed) {
		t.Fatal("wrong key")
	}
}
