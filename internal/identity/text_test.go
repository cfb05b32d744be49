package identity_test

import (
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
)

// TestRegistrationTextIsChecked: a registration's name, organization and licence reach
// listings, logs and reports verbatim, so control characters and line breaks are refused
// (identity/CodeInvalid, saying which field), and a provider's organization and licence
// are required.
func TestRegistrationTextIsChecked(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	regKP, _ := keys.Generate()
	reg := &identity.Identity{ID: keys.IDFromSignKey(regKP.SignPublic()), Role: identity.Registrar, SignKey: regKP.SignPublic(), EncKey: regKP.EncPublic(), KeyVersion: 1, Active: true}
	identity.Put(st, reg)
	env := identity.Env{ChainID: "c", Height: 2, Time: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), TxHash: "t", Signer: reg}
	provider := func(name, org, licence string) *identity.Register {
		kp, _ := keys.Generate()
		b := &identity.Register{Role: identity.Provider, Name: name, Organization: org, Licence: licence, SignKey: kp.SignPublic(), EncKey: kp.EncPublic()}
		b.Proof = identity.SignPop(kp.Sign, env.ChainID, "register", b.SubjectID(), b.EncKey)
		return b
	}
	for _, c := range []struct {
		b    *identity.Register
		want string // "" for accepted
	}{
		{provider("Dr Zoë Ünal", "St Mary", "GMC 123"), ""},
		{provider("Dr \x1b[31mAlice", "St Mary", "GMC 1"), "name contains a control character"},
		{provider("Dr Alice\nDr Bob", "St Mary", "GMC 1"), "name contains a control character"},
		{provider("Dr Alice", "St\tMary", "GMC 1"), "organization contains a control character"},
		{provider("Dr Alice", " ", "GMC 1"), "organization is required"},
		{provider("Dr Alice", "St Mary", ""), "licence is required"},
		{provider("Dr Alice", "St Mary", "GMC\xff"), "licence is not valid UTF-8"},
	} {
		ov := st.Begin()
		e := identity.ExecRegister(ov, env, reg.ID, c.b)
		switch {
		case c.want == "" && e != nil:
			t.Errorf("%q/%q/%q refused: %v", c.b.Name, c.b.Organization, c.b.Licence, e)
		case c.want != "" && (e == nil || e.Codespace != string(identity.Space) || e.Code != identity.CodeInvalid || e.Message != c.want):
			t.Errorf("%q/%q/%q: %v, want identity/%d %q", c.b.Name, c.b.Organization, c.b.Licence, e, identity.CodeInvalid, c.want)
		}
	}
}
