package consent

import (
	"reflect"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
)

// TestFactCarriesEveryDecisionField guards the conversion the access decision sees: a
// field dropped here would be a rule silently skipped.
func TestFactCarriesEveryDecisionField(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	g := &Grant{ID: "g1", Patient: "p", Grantee: "dr", Organization: "St Mary", Scope: Scope{Categories: []string{"general"}},
		Actions: []string{Read}, Purposes: []string{Treatment}, Start: t0, Expiry: t0.Add(time.Hour),
		Deny: []Deny{{Scope: Scope{ResourceTypes: []string{"Observation"}}}}, RevokedAt: 9,
		KeyShares: []KeyShare{{Category: "general"}}, GrantedAt: 3}
	want := access.Grant{ID: "g1", Patient: "p", Grantee: "dr", Organization: "St Mary", Scope: g.Scope, Actions: g.Actions,
		Purposes: g.Purposes, Start: g.Start, Expiry: g.Expiry, Deny: g.Deny, RevokedAt: 9}
	if got := Facts([]*Grant{g}); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("Fact = %+v, want %+v", got, want)
	}
	// Every field of access.Grant is one the conversion sets: a new one needs a line above.
	if n := reflect.TypeFor[access.Grant]().NumField(); n != 11 {
		t.Fatalf("access.Grant has %d fields; Fact and this test set 11", n)
	}
}
