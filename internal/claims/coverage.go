package claims

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Coverage makes a patient a member of an insurer's plan for a period.
type Coverage struct {
	Patient    string `json:"patient"`
	Insurer    string `json:"insurer"`
	Plan       string `json:"plan"`
	MemberID   string `json:"member_id"`
	Start      Date   `json:"start"`
	End        Date   `json:"end,omitempty"` // last covered day; empty: open-ended
	EnrolledAt int64  `json:"enrolled_at"`
	EndedAt    int64  `json:"ended_at,omitempty"` // height of the end-of-coverage transaction
}

// Covers reports whether the coverage is in force on day d.
func (c *Coverage) Covers(d Date) bool { return c.Start <= d && (c.End == "" || d <= c.End) }

func coverageKey(patient, insurer string) []byte { return []byte("cov/" + patient + "/" + insurer) }

// CoveragePrefix lists a patient's coverages, per insurer.
func CoveragePrefix(patient string) []byte { return []byte("cov/" + patient + "/") }

// Coverages loads a patient's coverages with one insurer, in enrollment order.
func Coverages(r Reader, patient, insurer string) []Coverage {
	if c := load[[]Coverage](r, coverageKey(patient, insurer)); c != nil {
		return *c
	}
	return nil
}

// EnrollBody records a patient's membership of one of the signing insurer's plans.
type EnrollBody struct {
	Patient  string `json:"patient"`
	Plan     string `json:"plan"`
	MemberID string `json:"member_id"`
	Start    Date   `json:"start"`
	End      Date   `json:"end,omitempty"`
}

// EndCoverageBody ends the coverage of a patient with the signing insurer that starts on Start.
type EndCoverageBody struct {
	Patient string `json:"patient"`
	Start   Date   `json:"start"`
	End     Date   `json:"end"` // last covered day
}

// ExecEnroll stores a coverage.
func ExecEnroll(st Store, env identity.Env, signer string, b *EnrollBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "enrolls members"); err != nil {
		return err
	}
	if err := activePatient(st, b.Patient); err != nil {
		return err
	}
	if PlanHead(st, signer, b.Plan) == 0 {
		return Space.Err(CodeNotFound, "you have published no plan %q", b.Plan)
	}
	if b.MemberID == "" {
		return Space.Err(CodeInvalid, "a coverage needs a member id")
	}
	if err := Space.CheckText(CodeInvalid, "member id", b.MemberID, tx.TextRule{Max: 64}); err != nil {
		return err
	}
	if !b.Start.valid() || (b.End != "" && (!b.End.valid() || b.End < b.Start)) {
		return Space.Err(CodeInvalid, "coverage period %q to %q: want YYYY-MM-DD dates, the end on or after the start", b.Start, b.End)
	}
	c := Coverage{Patient: b.Patient, Insurer: signer, Plan: b.Plan, MemberID: b.MemberID, Start: b.Start, End: b.End, EnrolledAt: env.Height}
	all := Coverages(st, b.Patient, signer)
	for _, o := range all {
		if overlaps(o, c) {
			return Space.Err(CodeOverlap, "the patient is already covered by plan %s from %s to %s; end that coverage first", o.Plan, o.Start, dash(o.End))
		}
	}
	all = append(all, c)
	st.Set(coverageKey(b.Patient, signer), mustJSON(all))
	ev := event(env, signer, audit.CoverageEnroll, b.Patient)
	ev.Reason = fmt.Sprintf("plan %s member %s from %s to %s", b.Plan, b.MemberID, b.Start, dash(b.End))
	st.Append(ev.Encode())
	return nil
}

// ExecEndCoverage sets the last covered day of a coverage.
func ExecEndCoverage(st Store, env identity.Env, signer string, b *EndCoverageBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "ends coverage"); err != nil {
		return err
	}
	all := Coverages(st, b.Patient, signer)
	i := -1
	for j := range all {
		if all[j].Start == b.Start {
			i = j
		}
	}
	if i < 0 {
		return Space.Err(CodeNotFound, "the patient has no coverage with you starting %s", b.Start)
	}
	if !b.End.valid() || b.End < all[i].Start {
		return Space.Err(CodeInvalid, "end date %q: want a YYYY-MM-DD date on or after the start %s", b.End, all[i].Start)
	}
	if all[i].End != "" && b.End > all[i].End {
		return Space.Err(CodeInvalid, "the coverage already ends %s; ending it later would extend it (enroll again instead)", all[i].End)
	}
	all[i].End, all[i].EndedAt = b.End, env.Height
	st.Set(coverageKey(b.Patient, signer), mustJSON(all))
	ev := event(env, signer, audit.CoverageEnd, b.Patient)
	ev.Reason = fmt.Sprintf("plan %s member %s ends %s", all[i].Plan, all[i].MemberID, b.End)
	st.Append(ev.Encode())
	return nil
}

func overlaps(a, b Coverage) bool {
	aEnd, bEnd := a.End, b.End
	if aEnd == "" {
		aEnd = "9999-12-31"
	}
	if bEnd == "" {
		bEnd = "9999-12-31"
	}
	return a.Start <= bEnd && b.Start <= aEnd
}

func activePatient(r Reader, id string) *tx.Error {
	p := identity.Get(r, id)
	if p == nil || p.Role != identity.Patient || !p.Active {
		return Space.Err(CodeNotFound, "%s is not an active registered patient", id)
	}
	return nil
}

func dash(s Date) string {
	if s == "" {
		return "open"
	}
	return string(s)
}
