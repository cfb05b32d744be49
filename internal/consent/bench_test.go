package consent

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecide is one consent decision against a patient with 20 grants to other
// providers, one matching grant and a deny provision: the work FinalizeBlock does per read.
func BenchmarkDecide(b *testing.B) {
	var grants []*Grant
	for i := range 20 {
		grants = append(grants, &Grant{ID: fmt.Sprintf("g%d", i), Patient: "p", Grantee: fmt.Sprintf("dr%d", i),
			Actions: []string{Read}, Purposes: []string{Treatment}, Scope: Scope{Categories: []string{"general"}}})
	}
	grants = append(grants, &Grant{ID: "mine", Patient: "p", Grantee: "dr", Actions: []string{Read}, Purposes: []string{Treatment},
		Scope: Scope{Categories: []string{"general", "hiv"}}, Expiry: t0.Add(time.Hour),
		Deny: []Deny{{Scope: Scope{ResourceTypes: []string{"DocumentReference"}}}}})
	q := Request{Patient: "p", Actor: "dr", Action: Read, Purpose: Treatment, Time: t0,
		Target: Target{Category: "general", ResourceType: "Observation", Record: "r1"}}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(grants, q); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
