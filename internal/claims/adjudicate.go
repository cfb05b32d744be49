package claims

import "fmt"

// Line outcomes.
const (
	Approved = "approved" // allowed in full
	Partial  = "partial"  // allowed in part (a limit cut it)
	Denied   = "denied"   // nothing allowed
)

// Reason is an adjustment reason on a line: an X12 Claim Adjustment Reason Code (CARC), the
// code set payers use on remittances, with its meaning.
type Reason struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// ReasonSystem names the code system of Reason codes in FHIR output.
const ReasonSystem = "https://x12.org/codes/claim-adjustment-reason-codes"

// The reasons the contract gives.
var (
	ReasonBeforeCoverage = Reason{"26", "Expenses incurred prior to coverage"}
	ReasonAfterCoverage  = Reason{"27", "Expenses incurred after coverage terminated"}
	ReasonNotInsured     = Reason{"31", "Patient cannot be identified as our insured"}
	ReasonNotCovered     = Reason{"204", "This service is not covered under the patient's current benefit plan"}
	ReasonNoAuth         = Reason{"197", "Precertification/authorization absent"}
	ReasonOverMax        = Reason{"45", "Charge exceeds the maximum allowable for this service"}
	ReasonPeriodMax      = Reason{"119", "Benefit maximum for this time period has been reached"}
	ReasonAppealUpheld   = Reason{"A1", "Claim/service denied; appeal upheld the denial"}
)

// LineInput is one service line as the provider submits it.
type LineInput struct {
	Seq      int    `json:"sequence"`
	System   string `json:"system"` // code system of the service (SNOMED CT, CPT, CVX, ...)
	Code     string `json:"code"`
	Display  string `json:"display,omitempty"`
	Quantity int64  `json:"quantity"`
	Charge   int64  `json:"charge"` // submitted charge, cents
}

// Result is the adjudication of one line. Allowed = Copay + Coinsurance + Payer.
type Result struct {
	Outcome     string   `json:"outcome"`
	Allowed     int64    `json:"allowed"`
	Copay       int64    `json:"copay"`
	Coinsurance int64    `json:"coinsurance"`
	Payer       int64    `json:"payer"` // what the insurer owes the provider
	Rule        string   `json:"rule,omitempty"`
	PriorAuth   string   `json:"prior_auth,omitempty"`
	Reasons     []Reason `json:"reasons,omitempty"`
}

// PatientShare is what the patient owes for the line.
func (r *Result) PatientShare() int64 { return r.Copay + r.Coinsurance }

// Judge is what adjudication needs to know besides the lines. It holds no clock and reads no
// state itself: ExecSubmit fills it from the committed state, so the same inputs always give
// the same decisions.
type Judge struct {
	Plan       *Plan  // the version in force on the date of service; nil when not eligible
	Ineligible Reason // why not, when Plan is nil
	// Used is the amount already allowed this benefit year under a rule.
	Used func(rule string) int64
	// Authorize finds (and consumes) an approved prior authorization for a line; "" if none.
	Authorize func(l LineInput) string
}

// Usage is the amount a claim adds to a rule's yearly total.
type Usage struct {
	Rule   string
	Amount int64
}

// Adjudicate judges every line in order. It returns the results and the yearly usage the
// claim adds, in first-use order.
func Adjudicate(j Judge, lines []LineInput) ([]Result, []Usage) {
	out := make([]Result, len(lines))
	var usage []Usage
	used := func(rule string) int64 {
		for _, u := range usage {
			if u.Rule == rule {
				return j.Used(rule) + u.Amount
			}
		}
		return j.Used(rule)
	}
	add := func(rule string, amt int64) {
		for i := range usage {
			if usage[i].Rule == rule {
				usage[i].Amount += amt
				return
			}
		}
		usage = append(usage, Usage{rule, amt})
	}
	for i, l := range lines {
		r := &out[i]
		r.Outcome = Denied
		if j.Plan == nil {
			r.Reasons = []Reason{j.Ineligible}
			continue
		}
		b := j.Plan.Match(l.System, l.Code)
		if b == nil || b.Excluded {
			r.Reasons = []Reason{ReasonNotCovered}
			if b != nil {
				r.Rule = RuleKey(b)
			}
			continue
		}
		r.Rule = RuleKey(b)
		if b.PriorAuth {
			if r.PriorAuth = j.Authorize(l); r.PriorAuth == "" {
				r.Reasons = []Reason{ReasonNoAuth}
				continue
			}
		}
		allowed := l.Charge
		if b.MaxPerService > 0 && allowed > b.MaxPerService {
			allowed = b.MaxPerService
			r.Reasons = append(r.Reasons, ReasonOverMax)
		}
		if b.PeriodLimit > 0 {
			left := max(b.PeriodLimit-used(r.Rule), 0)
			if allowed > left {
				allowed = left
				r.Reasons = append(r.Reasons, ReasonPeriodMax)
			}
		}
		if allowed == 0 {
			continue
		}
		add(r.Rule, allowed)
		r.Allowed = allowed
		r.Copay, r.Coinsurance, r.Payer = costShare(b, allowed)
		r.Outcome = Approved
		if allowed < l.Charge {
			r.Outcome = Partial
		}
	}
	return out, usage
}

// costShare splits an allowed amount: the copay first, then coinsurance on the rest.
func costShare(b *Benefit, allowed int64) (copay, coins, payer int64) {
	if b != nil {
		copay = min(b.Copay, allowed)
		coins = share(allowed-copay, b.CoinsuranceBP)
	}
	return copay, coins, allowed - copay - coins
}

// RuleKey names a benefit rule: "system|code".
func RuleKey(b *Benefit) string { return b.System + "|" + b.Code }

// eligibility finds the coverage in force on day d among a patient's coverages with one
// insurer, or the reason there is none.
func eligibility(covs []Coverage, d Date) (*Coverage, Reason) {
	if len(covs) == 0 {
		return nil, ReasonNotInsured
	}
	before := true
	for i := range covs {
		if covs[i].Covers(d) {
			return &covs[i], Reason{}
		}
		if covs[i].Start <= d {
			before = false
		}
	}
	if before {
		return nil, ReasonBeforeCoverage
	}
	return nil, ReasonAfterCoverage
}

func summary(res []Result) (approved, partial, denied int) {
	for _, r := range res {
		switch r.Outcome {
		case Approved:
			approved++
		case Partial:
			partial++
		default:
			denied++
		}
	}
	return
}

func summaryText(res []Result, payable, patient int64) string {
	a, p, d := summary(res)
	return fmt.Sprintf("%d approved, %d partial, %d denied; payer %s, patient %s", a, p, d, FormatCents(payable), FormatCents(patient))
}
