package identity_test

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestForeignKeysFollowTheirHome: an identity recognised from another chain cannot rotate
// its keys here, neither by itself nor by the registrar (its keys are the home chain's);
// its lookups, deactivation and a local identity's rotation are unchanged.
func TestForeignKeysFollowTheirHome(t *testing.T) {
	b := newBook(t)
	reg, dr, local := b.put(identity.Registrar, ""), b.put(identity.Provider, "St Mary"), b.put(identity.Provider, "St Mary")
	b.Must(reg, func(st *state.Tx, _ identity.Env) *tx.Error {
		id := identity.Get(st, dr)
		id.Home = &identity.Home{ChainID: "ehr-a", Client: "shard-a", ProvenAt: 7}
		identity.Put(st, id)
		return nil
	})
	got := identity.Get(b.Store, dr)
	if got.Home == nil || got.Home.ChainID != "ehr-a" || got.Role != identity.Provider || !got.Active {
		t.Fatalf("recognised identity reads back as %+v", got)
	}
	if identity.Get(b.Store, local).Home != nil {
		t.Fatal("a local identity has a home chain")
	}
	I := identity.Space
	next := b.keyPair()
	pop := func(id string) []byte { return identity.SignPop(next.Sign, "c", "rotate", id, next.EncPublic()) }
	b.expect("a recognised provider rotates its own keys", I, identity.CodeUnauthorized, dr, rotate(dr, next, pop(dr)))
	b.expect("the registrar rotates a recognised provider's keys", I, identity.CodeUnauthorized, reg, rotate(dr, next, pop(dr)))
	b.expect("a local provider rotates", I, 0, local, rotate(local, next, pop(local)))
	b.expect("the registrar deactivates the recognised provider here", I, 0, reg, deactivate(dr, "not trusted here"))
}
