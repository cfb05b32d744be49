package claims

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The scripts under testdata/ state adjudication (Adjudicate) as cases, one line a fact:
//
//	plan                                  start a new plan (no benefits)
//	benefit SYSTEM|CODE [copay=A] [max=A] [limit=A] [coins=P%] [prior-auth] [excluded]
//	claim [used=RULE:A,...] [auths=ID,...] [ineligible=CODE]
//	line SYSTEM|CODE CHARGE -> OUTCOME [allowed=A] [copay=A] [coins=A] [payer=A] [reasons=C,...] [rule=R] [auth=ID]
//	usage RULE=A ... | usage none
//
// Amounts are decimal currency (12.34); coinsurance is a percentage with up to two
// decimals (12.5%). A claim's lines are judged together when its usage line is read, which
// also states the yearly usage the claim adds, in first-use order. On a line, every amount,
// reason and authorization not written is expected to be zero or none; a rule not written is
// not checked. "used" is what earlier claims allowed this year; "auths" are the approved
// prior authorizations, each consumed by the first line that needs one; "ineligible" means
// no plan is in force, for the reason with that code.

type adjScript struct {
	plan  *Plan
	judge Judge
	lines []LineInput
	want  []string // the expectation of each line, as written
	auths []string
	used  map[string]int64
	open  bool
}

func TestAdjudicationScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/adjudicate*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no adjudication scripts: %v", err)
	}
	reasons := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := &adjScript{}
			sc := bufio.NewScanner(f)
			for n := 1; sc.Scan(); n++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if err := s.run(line, reasons); err != nil {
					t.Errorf("%s:%d: %s\n\t%s", file, n, err, line)
				}
			}
			if s.open {
				t.Errorf("%s: the last claim has no usage line, so it was never judged", file)
			}
		})
	}
	for _, r := range []Reason{ReasonBeforeCoverage, ReasonAfterCoverage, ReasonNotInsured, ReasonNotCovered, ReasonNoAuth, ReasonOverMax, ReasonPeriodMax} {
		if !reasons[r.Code] {
			t.Errorf("no script line expects reason %s (%s)", r.Code, r.Text)
		}
	}
}

func (s *adjScript) run(line string, reached map[string]bool) error {
	f := strings.Fields(line)
	switch f[0] {
	case "plan":
		s.plan = &Plan{ID: "p", Version: 1}
		return nil
	case "benefit":
		if s.plan == nil || len(f) < 2 {
			return fmt.Errorf("benefit needs a plan and a SYSTEM|CODE")
		}
		b, err := parseBenefit(f[1:])
		s.plan.Benefits = append(s.plan.Benefits, b)
		return err
	case "claim":
		if s.open {
			return fmt.Errorf("the claim before has no usage line")
		}
		*s = adjScript{plan: s.plan, open: true, used: map[string]int64{}}
		s.judge = Judge{Plan: s.plan, Used: func(rule string) int64 { return s.used[rule] }, Authorize: func(LineInput) string {
			if len(s.auths) == 0 {
				return ""
			}
			a := s.auths[0]
			s.auths = s.auths[1:]
			return a
		}}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "used":
				for _, u := range strings.Split(v, ",") {
					rule, amt, ok := strings.Cut(u, ":")
					c, err := ParseCents(amt)
					if !ok || err != nil {
						return fmt.Errorf("used %q: want RULE:AMOUNT", u)
					}
					s.used[rule] = c
				}
			case "auths":
				s.auths = strings.Split(v, ",")
			case "ineligible":
				r, ok := reasonByCode(v)
				if !ok {
					return fmt.Errorf("unknown reason %q", v)
				}
				s.judge.Plan, s.judge.Ineligible = nil, r
			default:
				return fmt.Errorf("unknown claim fact %q", kv)
			}
		}
		return nil
	case "line":
		if !s.open {
			return fmt.Errorf("a line outside a claim")
		}
		arrow := slices.Index(f, "->")
		if arrow != 3 {
			return fmt.Errorf("want: line SYSTEM|CODE CHARGE -> OUTCOME ...")
		}
		sys, code, ok := strings.Cut(f[1], "|")
		charge, err := ParseCents(f[2])
		if !ok || err != nil {
			return fmt.Errorf("service %q charge %q", f[1], f[2])
		}
		s.lines = append(s.lines, LineInput{Seq: len(s.lines) + 1, System: sys, Code: code, Quantity: 1, Charge: charge})
		s.want = append(s.want, strings.Join(f[4:], " "))
		return nil
	case "usage":
		if !s.open {
			return fmt.Errorf("usage outside a claim")
		}
		s.open = false
		res, usage := Adjudicate(s.judge, s.lines)
		var errs []string
		for i, r := range res {
			if err := checkLine(r, s.want[i], reached); err != nil {
				errs = append(errs, fmt.Sprintf("line %d (%s|%s %s): %v", i+1, s.lines[i].System, s.lines[i].Code, FormatCents(s.lines[i].Charge), err))
			}
		}
		var want []Usage
		if len(f) != 2 || f[1] != "none" {
			for _, kv := range f[1:] {
				rule, amt, _ := strings.Cut(kv, "=")
				c, err := ParseCents(amt)
				if err != nil {
					return fmt.Errorf("usage %q: %v", kv, err)
				}
				want = append(want, Usage{rule, c})
			}
		}
		if !slices.Equal(usage, want) {
			errs = append(errs, fmt.Sprintf("usage %v, want %v", usage, want))
		}
		if errs != nil {
			return fmt.Errorf("%s", strings.Join(errs, "\n\t"))
		}
		return nil
	}
	return fmt.Errorf("unknown statement %q", f[0])
}

func parseBenefit(f []string) (Benefit, error) {
	sys, code, ok := strings.Cut(f[0], "|")
	if !ok {
		return Benefit{}, fmt.Errorf("benefit %q: want SYSTEM|CODE", f[0])
	}
	b := Benefit{System: sys, Code: code}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "copay":
			b.Copay, err = ParseCents(v)
		case "max":
			b.MaxPerService, err = ParseCents(v)
		case "limit":
			b.PeriodLimit, err = ParseCents(v)
		case "coins":
			p, ok := strings.CutSuffix(v, "%")
			if !ok {
				return b, fmt.Errorf("coins %q: want a percentage", v)
			}
			b.CoinsuranceBP, err = ParseCents(p) // hundredths of a percent are basis points
		case "prior-auth":
			b.PriorAuth = true
		case "excluded":
			b.Excluded = true
		default:
			return b, fmt.Errorf("unknown benefit term %q", kv)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

func reasonByCode(c string) (Reason, bool) {
	for _, r := range []Reason{ReasonBeforeCoverage, ReasonAfterCoverage, ReasonNotInsured, ReasonNotCovered, ReasonNoAuth, ReasonOverMax, ReasonPeriodMax, ReasonAppealUpheld} {
		if r.Code == c {
			return r, true
		}
	}
	return Reason{}, false
}

// checkLine compares a line's result with its written expectation.
func checkLine(r Result, want string, reached map[string]bool) error {
	f := strings.Fields(want)
	if len(f) == 0 {
		return fmt.Errorf("no expected outcome")
	}
	exp := Result{Outcome: f[0]}
	var rule *string
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "allowed":
			exp.Allowed, err = ParseCents(v)
		case "copay":
			exp.Copay, err = ParseCents(v)
		case "coins":
			exp.Coinsurance, err = ParseCents(v)
		case "payer":
			exp.Payer, err = ParseCents(v)
		case "reasons":
			for _, c := range strings.Split(v, ",") {
				rs, ok := reasonByCode(c)
				if !ok {
					return fmt.Errorf("unknown reason %q", c)
				}
				exp.Reasons = append(exp.Reasons, rs)
			}
		case "rule":
			rule = &v
		case "auth":
			exp.PriorAuth = v
		default:
			return fmt.Errorf("unknown expectation %q", kv)
		}
		if err != nil {
			return err
		}
	}
	if rule != nil {
		exp.Rule = *rule
	} else {
		exp.Rule = r.Rule
	}
	got := fmt.Sprintf("%s allowed=%s copay=%s coins=%s payer=%s reasons=%v rule=%s auth=%s", r.Outcome,
		FormatCents(r.Allowed), FormatCents(r.Copay), FormatCents(r.Coinsurance), FormatCents(r.Payer), codes(r), r.Rule, r.PriorAuth)
	wantS := fmt.Sprintf("%s allowed=%s copay=%s coins=%s payer=%s reasons=%v rule=%s auth=%s", exp.Outcome,
		FormatCents(exp.Allowed), FormatCents(exp.Copay), FormatCents(exp.Coinsurance), FormatCents(exp.Payer), codes(exp), exp.Rule, exp.PriorAuth)
	if got != wantS {
		return fmt.Errorf("got  %s\n\t     want %s", got, wantS)
	}
	if r.Allowed != r.Copay+r.Coinsurance+r.Payer {
		return fmt.Errorf("allowed %d is not copay + coinsurance + payer", r.Allowed)
	}
	for _, x := range r.Reasons {
		reached[x.Code] = true
	}
	return nil
}
