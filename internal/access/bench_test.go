package access

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecide is one read decision against a patient with 20 grants to other
// providers, one matching grant and a deny provision: the work FinalizeBlock does per read.
func BenchmarkDecide(b *testing.B) {
	f := newCase()
	for i := range 20 {
		f.Grants = append(f.Grants, Grant{ID: fmt.Sprintf("g%d", i), Patient: "p", Grantee: fmt.Sprintf("dr%d", i),
			Actions: []string{Read}, Purposes: []string{Treatment}, Scope: Scope{Categories: []string{"general"}}})
	}
	f.Grants = append(f.Grants, Grant{ID: "mine", Patient: "p", Grantee: "dr", Actions: []string{Read}, Purposes: []string{Treatment},
		Scope: Scope{Categories: []string{"general", "hiv"}}, Expiry: t0.Add(time.Hour),
		Deny: []Deny{{Scope: Scope{ResourceTypes: []string{"DocumentReference"}}}}})
	q := Request{Action: Read, Purpose: Treatment}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(f, q); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
