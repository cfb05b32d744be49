package claims

import (
	"slices"
	"testing"
)

const sct = "http://snomed.info/sct"

func testPlan() *Plan {
	return &Plan{ID: "p", Version: 1, Effective: "2020-01-01", Benefits: []Benefit{
		{System: sct, Code: "1", Copay: 1000},
		{System: sct, Code: "2", MaxPerService: 5000, PeriodLimit: 12000, CoinsuranceBP: 1000},
		{System: sct, Code: "3", PriorAuth: true},
		{System: sct, Code: "4", Excluded: true},
		{System: sct, Code: Any, CoinsuranceBP: 5000},
		{System: Any, Code: Any, CoinsuranceBP: 9000},
	}}
}

func judge(p *Plan, used map[string]int64, auths ...string) Judge {
	return Judge{Plan: p,
		Used: func(rule string) int64 { return used[rule] },
		Authorize: func(l LineInput) string {
			if len(auths) == 0 {
				return ""
			}
			a := auths[0]
			auths = auths[1:]
			return a
		}}
}

func l(seq int, system, code string, charge int64) LineInput {
	return LineInput{Seq: seq, System: system, Code: code, Quantity: 1, Charge: charge}
}

func codes(r Result) []string {
	var out []string
	for _, x := range r.Reasons {
		out = append(out, x.Code)
	}
	return out
}

func TestAdjudicateRules(t *testing.T) {
	res, usage := Adjudicate(judge(testPlan(), map[string]int64{sct + "|2": 4000}), []LineInput{
		l(1, sct, "1", 12500), // exact rule, copay
		l(2, sct, "2", 7000),  // per-service maximum, then the period limit
		l(3, sct, "2", 7000),  // what is left of the period limit
		l(4, sct, "2", 100),   // nothing left
		l(5, sct, "3", 100),   // prior authorization missing
		l(6, sct, "4", 100),   // excluded
		l(7, sct, "999", 100), // the system's wildcard
		l(8, "urn:x", "z", 100),
	})
	want := []struct {
		outcome              string
		allowed, share, paid int64
		reasons              []string
	}{
		{Approved, 12500, 1000, 11500, nil},
		{Partial, 5000, 500, 4500, []string{"45"}},
		{Partial, 3000, 300, 2700, []string{"45", "119"}},
		{Denied, 0, 0, 0, []string{"119"}},
		{Denied, 0, 0, 0, []string{"197"}},
		{Denied, 0, 0, 0, []string{"204"}},
		{Approved, 100, 50, 50, nil},
		{Approved, 100, 90, 10, nil},
	}
	for i, w := range want {
		r := res[i]
		if r.Outcome != w.outcome || r.Allowed != w.allowed || r.PatientShare() != w.share || r.Payer != w.paid || !slices.Equal(codes(r), w.reasons) {
			t.Errorf("line %d: %s %d %d %d %v; want %+v", i+1, r.Outcome, r.Allowed, r.PatientShare(), r.Payer, codes(r), w)
		}
	}
	wantUsage := []Usage{{sct + "|1", 12500}, {sct + "|2", 8000}, {sct + "|" + Any, 100}, {Any + "|" + Any, 100}}
	if !slices.Equal(usage, wantUsage) {
		t.Errorf("usage %v, want %v", usage, wantUsage)
	}
}

func TestAdjudicatePriorAuthAndEligibility(t *testing.T) {
	res, _ := Adjudicate(judge(testPlan(), nil, "pa-1"), []LineInput{l(1, sct, "3", 100), l(2, sct, "3", 100)})
	if res[0].Outcome != Approved || res[0].PriorAuth != "pa-1" || res[1].Outcome != Denied || !slices.Equal(codes(res[1]), []string{"197"}) {
		t.Fatalf("one authorization for two lines: %+v", res)
	}
	j := judge(nil, nil)
	j.Ineligible = ReasonAfterCoverage
	res, usage := Adjudicate(j, []LineInput{l(1, sct, "1", 100), l(2, sct, "2", 100)})
	for _, r := range res {
		if r.Outcome != Denied || r.Payer != 0 || !slices.Equal(codes(r), []string{"27"}) {
			t.Fatalf("ineligible line: %+v", r)
		}
	}
	if len(usage) != 0 {
		t.Fatalf("denied lines used %v", usage)
	}
}

func TestEligibility(t *testing.T) {
	covs := []Coverage{{Plan: "a", Start: "2020-01-01", End: "2020-12-31"}, {Plan: "b", Start: "2022-01-01"}}
	for d, want := range map[Date]string{"2019-12-31": "26", "2020-06-01": "", "2021-06-01": "27", "2023-01-01": ""} {
		c, why := eligibility(covs, d)
		if (c == nil) != (want != "") || why.Code != want {
			t.Errorf("%s: coverage %v reason %q, want %q", d, c, why.Code, want)
		}
	}
	if _, why := eligibility(nil, "2020-01-01"); why != ReasonNotInsured {
		t.Errorf("no coverage: %v", why)
	}
}

func TestPlanValidate(t *testing.T) {
	ok := func() Plan {
		return Plan{ID: "p1", Name: "n", Effective: "2024-01-01", Benefits: []Benefit{{System: sct, Code: "1"}}}
	}
	for name, mut := range map[string]func(*Plan){
		"bad id":               func(p *Plan) { p.ID = "a/b" },
		"no rules":             func(p *Plan) { p.Benefits = nil },
		"bad effective":        func(p *Plan) { p.Effective = "2024-13-01" },
		"end before effective": func(p *Plan) { p.End = "2023-12-31" },
		"duplicate rule":       func(p *Plan) { p.Benefits = append(p.Benefits, Benefit{System: sct, Code: "1"}) },
		"negative copay":       func(p *Plan) { p.Benefits[0].Copay = -1 },
		"huge limit":           func(p *Plan) { p.Benefits[0].PeriodLimit = MaxAmount + 1 },
		"coinsurance > 100 %":  func(p *Plan) { p.Benefits[0].CoinsuranceBP = MaxBP + 1 },
		"any system, one code": func(p *Plan) { p.Benefits[0].System = Any },
		"empty code":           func(p *Plan) { p.Benefits[0].Code = "" },
		"control character":    func(p *Plan) { p.Name = "a\x00b" },
	} {
		p := ok()
		mut(&p)
		if err := p.validate(); err == nil || err.Code != CodeInvalid {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	p := ok()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestInForce(t *testing.T) {
	st := mapStore{}
	for _, p := range []Plan{{ID: "x", Insurer: "i", Version: 1, Effective: "2020-01-01", End: "2020-12-31"},
		{ID: "x", Insurer: "i", Version: 2, Effective: "2022-01-01"}} {
		st.Set(planKey("i", "x", p.Version), mustJSON(&p))
		st.Set(planHeadKey("i", "x"), []byte{'0' + byte(p.Version)})
	}
	for d, want := range map[Date]uint32{"2019-01-01": 0, "2020-05-05": 1, "2021-05-05": 0, "2022-01-01": 2, "2030-01-01": 2} {
		got := InForce(st, "i", "x", d)
		if (got == nil && want != 0) || (got != nil && got.Version != want) {
			t.Errorf("%s: version %v, want %d", d, got, want)
		}
	}
}

type mapStore map[string][]byte

func (m mapStore) Get(k []byte) []byte { return m[string(k)] }
func (m mapStore) Set(k, v []byte)     { m[string(k)] = v }

func TestDuplicateKey(t *testing.T) {
	b := &SubmitBody{Patient: "p", Insurer: "i", ServiceDate: "2024-01-01", Encounter: EncounterRef{Record: "r"},
		Lines: []LineInput{l(1, sct, "1", 100), l(2, sct, "2", 200)}}
	k := DuplicateKey("dr", b)
	swapped := *b
	swapped.Lines = []LineInput{l(1, sct, "2", 200), l(2, sct, "1", 100)}
	if DuplicateKey("dr", &swapped) != k {
		t.Fatal("line order changes the duplicate key")
	}
	for name, mut := range map[string]func(*SubmitBody){
		"charge":    func(c *SubmitBody) { c.Lines = []LineInput{l(1, sct, "1", 101), l(2, sct, "2", 200)} },
		"date":      func(c *SubmitBody) { c.ServiceDate = "2024-01-02" },
		"encounter": func(c *SubmitBody) { c.Encounter.Record = "r2" },
		"insurer":   func(c *SubmitBody) { c.Insurer = "j" },
	} {
		c := *b
		mut(&c)
		if DuplicateKey("dr", &c) == k {
			t.Errorf("a different %s gives the same duplicate key", name)
		}
	}
	if DuplicateKey("dr2", b) == k {
		t.Error("another provider gives the same duplicate key")
	}
	// Field boundaries are length-prefixed: moving a character between fields changes the key.
	a := &SubmitBody{Patient: "ab", Insurer: "c", ServiceDate: "2024-01-01", Lines: b.Lines}
	a2 := &SubmitBody{Patient: "a", Insurer: "bc", ServiceDate: "2024-01-01", Lines: b.Lines}
	if DuplicateKey("dr", a) == DuplicateKey("dr", a2) {
		t.Error("field boundaries are ambiguous")
	}
}
