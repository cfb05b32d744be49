package erasure

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ehrchain/ehrchain/internal/consent"
)

// A retention policy says how long records of a category are kept after their last write.
// Retention law differs by jurisdiction and record type (a state's medical-records statute,
// longer for minors), so the period is the registrar's to set, per category, with "*" for
// every category without its own. Without a policy a record is kept until its patient erases
// it: nothing expires by default.
//
// The age of a record is counted from its newest version: an amendment restarts the clock,
// as a new entry in a chart does. Expiry is a transaction (TypeExpire) naming the records,
// judged at commit against the block time, so every node erases the same records at the
// same height; `ehrchain retention apply` finds the due ones on the committed state.

// AnyCategory is the category of the default policy.
const AnyCategory = "*"

// MaxRetentionDays bounds a period (100 years): a longer one is almost certainly a unit error.
const MaxRetentionDays = 36500

// Policy is the retention period of one category.
type Policy struct {
	Category string `json:"category"`
	Days     int64  `json:"days"`
	Reason   string `json:"reason,omitempty"`
	SetBy    string `json:"set_by"`           // the registrar, or "genesis"
	SetAt    int64  `json:"set_at,omitempty"` // height; 0 at genesis
}

// Period is the policy's length.
func (p *Policy) Period() time.Duration { return time.Duration(p.Days) * 24 * time.Hour }

// ExpiresAt is when a record of this policy last written at lastWrite (unix seconds) is due.
func (p *Policy) ExpiresAt(lastWrite int64) time.Time {
	return time.Unix(lastWrite, 0).UTC().Add(p.Period())
}

var policiesKey = []byte("retention")

// Policies lists the retention policies in force, in category order ("*" first).
func Policies(r Reader) []Policy {
	b := r.Get(policiesKey)
	if b == nil {
		return nil
	}
	var ps []Policy
	if err := json.Unmarshal(b, &ps); err != nil {
		panic(fmt.Errorf("retention policies are corrupt: %w", err))
	}
	return ps
}

// PolicyFor is the policy that governs category: its own, else the default, else nil.
func PolicyFor(ps []Policy, category string) *Policy {
	var def *Policy
	for i := range ps {
		switch ps[i].Category {
		case category:
			return &ps[i]
		case AnyCategory:
			def = &ps[i]
		}
	}
	return def
}

// CheckPolicy validates a category and period; days 0 removes the category's policy.
func CheckPolicy(category string, days int64) error {
	if category != AnyCategory && !consent.ValidCategory(category) {
		return fmt.Errorf("category %q: use %q for every category, or 1-48 lowercase letters, digits, '.', '_' or '-'", category, AnyCategory)
	}
	if days < 0 || days > MaxRetentionDays {
		return fmt.Errorf("retention of %d days: give 1 to %d days, or 0 to remove the policy", days, MaxRetentionDays)
	}
	return nil
}

// withPolicy is ps with p in place of its category's policy (or without it, for 0 days),
// kept in category order so the stored list is the same on every node.
func withPolicy(ps []Policy, p Policy) []Policy {
	out := slices.DeleteFunc(slices.Clone(ps), func(o Policy) bool { return o.Category == p.Category })
	if p.Days > 0 {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Policy) int { return strings.Compare(a.Category, b.Category) })
	return out
}

// SetPolicies stores the list (genesis writes it once; ExecSetRetention after).
func SetPolicies(st interface{ Set(k, v []byte) }, ps []Policy) {
	b, _ := json.Marshal(ps)
	st.Set(policiesKey, b)
}

// GenesisPolicies builds the genesis list from category/days pairs, refusing a bad or
// repeated one.
func GenesisPolicies(rules []RetentionRule) ([]Policy, error) {
	var ps []Policy
	for _, r := range rules {
		if err := CheckPolicy(r.Category, r.Days); err != nil {
			return nil, err
		}
		if r.Days == 0 {
			return nil, fmt.Errorf("retention of category %q: 0 days is no policy; leave it out", r.Category)
		}
		if slices.ContainsFunc(ps, func(p Policy) bool { return p.Category == r.Category }) {
			return nil, fmt.Errorf("retention of category %q is given twice", r.Category)
		}
		if err := checkText("reason of the retention of category "+r.Category, r.Reason); err != nil {
			return nil, err
		}
		ps = withPolicy(ps, Policy{Category: r.Category, Days: r.Days, Reason: r.Reason, SetBy: "genesis"})
	}
	return ps, nil
}

// RetentionRule is a policy as genesis and the CLI give it.
type RetentionRule struct {
	Category string `json:"category"`
	Days     int64  `json:"days"`
	Reason   string `json:"reason,omitempty"`
}

func checkText(what, s string) error {
	if len(s) > 500 || !utf8.ValidString(s) {
		return fmt.Errorf("%s: at most 500 characters of text", what)
	}
	return nil
}
