package consent

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	base := func() *Grant {
		return &Grant{ID: "g1", Patient: "p", Grantee: "dr", Actions: []string{Read}, Purposes: []string{Treatment},
			Scope: Scope{Categories: []string{"general"}}, Start: t0.Add(-time.Hour), Expiry: t0.Add(time.Hour)}
	}
	req := Request{Patient: "p", Actor: "dr", Action: Read, Purpose: Treatment, Time: t0,
		Target: Target{Category: "general", ResourceType: "Observation", Record: "r1"}}
	cases := []struct {
		name    string
		mod     func(g *Grant, q *Request)
		allowed bool
	}{
		{"matching grant", func(*Grant, *Request) {}, true},
		{"no grants at all", func(g *Grant, _ *Request) { g.Patient = "other" }, false},
		{"another actor", func(_ *Grant, q *Request) { q.Actor = "dr2" }, false},
		{"revoked", func(g *Grant, _ *Request) { g.RevokedAt = 5 }, false},
		{"expired exactly at block time", func(g *Grant, _ *Request) { g.Expiry = t0 }, false},
		{"not yet started", func(g *Grant, _ *Request) { g.Start = t0.Add(time.Second) }, false},
		{"wrong purpose", func(_ *Grant, q *Request) { q.Purpose = Research }, false},
		{"wrong action", func(_ *Grant, q *Request) { q.Action = Write }, false},
		{"category outside scope", func(_ *Grant, q *Request) { q.Target.Category = "hiv" }, false},
		{"resource type filter", func(g *Grant, _ *Request) { g.Scope.ResourceTypes = []string{"Condition"} }, false},
		{"single-record grant for another record", func(g *Grant, _ *Request) { g.Scope.Records = []string{"r2"} }, false},
		{"deny provision on the type", func(g *Grant, _ *Request) {
			g.Deny = []Deny{{Scope: Scope{ResourceTypes: []string{"Observation"}}}}
		}, false},
		{"deny provision for another purpose only", func(g *Grant, _ *Request) {
			g.Deny = []Deny{{Scope: Scope{}, Purposes: []string{Research}}}
		}, true},
		{"organization grant", func(g *Grant, q *Request) { g.Grantee, g.Organization, q.Organization = "", "St Mary", "St Mary" }, true},
		{"organization grant, other organization", func(g *Grant, q *Request) { g.Grantee, g.Organization, q.Organization = "", "St Mary", "Elsewhere" }, false},
		{"no expiry", func(g *Grant, _ *Request) { g.Expiry = time.Time{} }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, q := base(), req
			tc.mod(g, &q)
			d := Decide([]*Grant{g}, q)
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed=%v (%s), want %v", d.Allowed, d.Reason, tc.allowed)
			}
			if d.Allowed && d.Grant != "g1" {
				t.Fatalf("allowed without naming the grant: %+v", d)
			}
			if d.Reason == "" {
				t.Fatal("decision without a reason")
			}
		})
	}
}

func TestDenyBeatsPermitInAnotherGrant(t *testing.T) {
	permit := &Grant{ID: "a", Patient: "p", Grantee: "dr", Actions: []string{Read}, Purposes: []string{Treatment}, Start: t0.Add(-time.Hour)}
	deny := &Grant{ID: "b", Patient: "p", Grantee: "dr", Actions: []string{Read}, Purposes: []string{Treatment}, Start: t0.Add(-time.Hour),
		Deny: []Deny{{Scope: Scope{Categories: []string{"hiv"}}}}}
	q := Request{Patient: "p", Actor: "dr", Action: Read, Purpose: Treatment, Time: t0, Target: Target{Category: "hiv"}}
	if d := Decide([]*Grant{permit, deny}, q); d.Allowed || d.Grant != "b" {
		t.Fatalf("deny provision in a second grant did not win: %+v", d)
	}
}

func TestZeroDecisionDenies(t *testing.T) {
	var d Decision
	if d.Allowed {
		t.Fatal("zero Decision allows")
	}
	if Decide(nil, Request{}).Allowed {
		t.Fatal("empty request allowed")
	}
}
