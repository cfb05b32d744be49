package erasure

import (
	"testing"
	"time"
)

func TestPolicyForPrefersTheCategoryOverTheDefault(t *testing.T) {
	var ps []Policy
	ps = withPolicy(ps, Policy{Category: "mental-health", Days: 10})
	ps = withPolicy(ps, Policy{Category: AnyCategory, Days: 20})
	ps = withPolicy(ps, Policy{Category: "general", Days: 30})
	if ps[0].Category != AnyCategory || ps[1].Category != "general" || ps[2].Category != "mental-health" {
		t.Fatalf("policies not kept in category order: %+v", ps)
	}
	for cat, want := range map[string]int64{"general": 30, "mental-health": 10, "imaging": 20} {
		if p := PolicyFor(ps, cat); p == nil || p.Days != want {
			t.Errorf("%s: policy %+v, want %d days", cat, p, want)
		}
	}
	ps = withPolicy(ps, Policy{Category: "general", Days: 0})
	if p := PolicyFor(ps, "general"); p == nil || p.Category != AnyCategory {
		t.Fatalf("after removing general's own policy it is governed by %+v", p)
	}
	ps = withPolicy(ps, Policy{Category: AnyCategory, Days: 0})
	if p := PolicyFor(ps, "imaging"); p != nil {
		t.Fatalf("with no default, imaging is governed by %+v", p)
	}
}

func TestDueAtTheEndOfThePeriodNotBefore(t *testing.T) {
	p := Policy{Category: "general", Days: 2}
	written := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := &Due{Expires: p.ExpiresAt(written.Unix())}
	if d.DueAt(written.Add(48*time.Hour - time.Second)) {
		t.Fatal("due a second before the period ended")
	}
	if !d.DueAt(written.Add(48 * time.Hour)) {
		t.Fatal("not due when the period ended")
	}
	d.Hold = "h-1"
	if d.DueAt(written.Add(100 * time.Hour)) {
		t.Fatal("due under a legal hold")
	}
}
