package claims

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

const syntheaDir = "../../../shared/data/synthea-r4"

// syntheaPlan mirrors what Synthea v2.4 applies to every priced line of a covered patient:
// the whole charge is allowed and the patient pays 20 % coinsurance, without copay,
// deductible or limits.
var syntheaPlan = &Plan{ID: "synthea", Version: 1, Effective: "1900-01-01",
	Benefits: []Benefit{{System: Any, Code: Any, CoinsuranceBP: 2000}}}

// TestSyntheaEOBComparison adjudicates every Synthea Claim that has an ExplanationOfBenefit
// and compares the result with Synthea's own amounts. docs/CLAIMS.md explains the
// differences; this test pins them: priced lines agree to the cent, and the claim totals
// differ by exactly the encounter line, which Synthea charges but does not adjudicate.
func TestSyntheaEOBComparison(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Synthea bundles in %s: %v", syntheaDir, err)
	}
	sort.Strings(files)
	var st struct {
		claims, eobs, noEOB, pricedLines, lineExact, lineRounded, encounterLines int
		uninsured, claimExact, claimEncounterOnly, claimTotalRounding            int
		maxTotalRounding                                                         int64
		oursPayer, theirPayer, encounterPayer                                    int64
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cs, es, err := BundleClaims(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		byID := map[string]*FHIRClaim{}
		for _, c := range cs {
			fc, err := ParseFHIRClaim(c)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			byID[fc.ID] = fc
			st.claims++
		}
		st.noEOB += len(cs) - len(es)
		for _, e := range es {
			eob, err := ParseEOB(e)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			st.eobs++
			fc := byID[eob.Claim]
			if fc == nil {
				t.Fatalf("%s: EOB %s explains claim %s, which is not in the bundle", filepath.Base(f), eob.ID, eob.Claim)
			}
			var submitted int64
			for _, l := range fc.Lines {
				submitted += l.Charge
			}
			if submitted != eob.Submitted || fc.Total != eob.Submitted {
				t.Fatalf("claim %s: our lines charge %d, Claim.total %d, EOB submitted %d", fc.ID, submitted, fc.Total, eob.Submitted)
			}
			j := Judge{Plan: syntheaPlan, Used: func(string) int64 { return 0 }, Authorize: func(LineInput) string { return "" }}
			if eob.Coverage == "no_insurance" {
				j.Plan, j.Ineligible = nil, ReasonNotInsured
				st.uninsured++
			}
			res, _ := Adjudicate(j, fc.Lines)
			var ours, encounter int64
			for i, l := range fc.Lines {
				ours += res[i].Payer
				el := eobLine(eob, l.Seq)
				if el == nil || !el.Adjudicated {
					// The encounter line: Synthea puts its cost in the totals only.
					st.encounterLines++
					encounter += res[i].Payer
					continue
				}
				st.pricedLines++
				if el.Submitted != l.Charge {
					t.Fatalf("claim %s line %d: charge %d, EOB submitted %d", fc.ID, l.Seq, l.Charge, el.Submitted)
				}
				dp, dc := res[i].Payer-el.Payment, res[i].Coinsurance-el.Coinsurance
				switch {
				case dp == 0 && dc == 0:
					st.lineExact++
				case abs(dp) <= 1 && abs(dc) <= 1 && res[i].Payer+res[i].Coinsurance == el.Payment+el.Coinsurance:
					st.lineRounded++ // Synthea's float split rounds the other way
				default:
					t.Fatalf("claim %s line %d (%s): payer %d coinsurance %d, Synthea %d and %d", fc.ID, l.Seq, l.Code, res[i].Payer, res[i].Coinsurance, el.Payment, el.Coinsurance)
				}
			}
			st.oursPayer += ours
			st.theirPayer += eob.Payment
			st.encounterPayer += encounter
			if d := ours - encounter - eob.Payment; abs(d) > int64(len(fc.Lines)) {
				t.Fatalf("claim %s: we pay %d of which %d for the encounter line, Synthea pays %d", fc.ID, ours, encounter, eob.Payment)
			}
			switch {
			case ours == eob.Payment:
				st.claimExact++
			case ours-encounter == eob.Payment:
				st.claimEncounterOnly++
			default:
				st.claimTotalRounding++
				st.maxTotalRounding = max(st.maxTotalRounding, abs(ours-encounter-eob.Payment))
			}
		}
	}
	t.Logf("bundles %d, claims %d, with EOB %d, without EOB (pharmacy) %d, uninsured %d", len(files), st.claims, st.eobs, st.noEOB, st.uninsured)
	t.Logf("priced lines %d: exact %d, 1-cent rounding %d; encounter lines %d", st.pricedLines, st.lineExact, st.lineRounded, st.encounterLines)
	t.Logf("claims equal to Synthea's payment %d, differing only by the encounter line %d, and by rounding of Synthea's summed floats %d (at most %d cents)",
		st.claimExact, st.claimEncounterOnly, st.claimTotalRounding, st.maxTotalRounding)
	t.Logf("payer total: ours %s, Synthea %s, of ours for encounter lines %s", FormatCents(st.oursPayer), FormatCents(st.theirPayer), FormatCents(st.encounterPayer))
	if st.eobs < 700 || st.pricedLines < 800 || st.lineExact < st.pricedLines*9/10 {
		t.Fatalf("comparison covered too little: %+v", st)
	}
}

func eobLine(e *EOB, seq int) *EOBLine {
	for i := range e.Lines {
		if e.Lines[i].Seq == seq {
			return &e.Lines[i]
		}
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkAdjudicate judges one Synthea bundle's claims per iteration (the pure rules, no
// state): go test -run XXX -bench Adjudicate ./internal/claims/
func BenchmarkAdjudicate(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(syntheaDir, "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"))
	if err != nil {
		b.Fatal(err)
	}
	cs, _, err := BundleClaims(raw)
	if err != nil {
		b.Fatal(err)
	}
	var claims [][]LineInput
	for _, c := range cs {
		fc, err := ParseFHIRClaim(c)
		if err != nil {
			b.Fatal(err)
		}
		claims = append(claims, fc.Lines)
	}
	j := Judge{Plan: testPlan(), Used: func(string) int64 { return 0 }, Authorize: func(LineInput) string { return "" }}
	b.ResetTimer()
	for b.Loop() {
		for _, ls := range claims {
			Adjudicate(j, ls)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(claims)), "ns/claim")
}
