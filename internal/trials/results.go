package trials

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecResults stores a results posting with its comparison against the pre-specified
// outcomes. A departure is not refused: it is recorded, so it cannot be hidden. The
// pre-specified outcomes are those of the version in force at the first enrolment (the
// newest version if nobody was enrolled).
func ExecResults(st Store, env identity.Env, signer string, b *ResultsBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if signer != t.Sponsor {
		return Space.Err(CodeUnauthorized, "only trial %s's sponsor %s posts its results", t.ID, t.Sponsor)
	}
	if err := requireRole(env, signer, sponsorRole, "sponsors a trial"); err != nil {
		return err
	}
	if err := validateReported(b); err != nil {
		return err
	}
	sig, err := sign(env, signer, b.Sign, "results", Author)
	if err != nil {
		return err
	}
	base := t.Baseline
	if base == 0 {
		base = t.Head
	}
	pre := GetVersion(st, t.ID, base)
	p := Posting{Number: t.Results + 1, Outcomes: b.Outcomes, Dataset: b.Dataset, ComparedWith: base,
		Discrepancies: Compare(pre.Outcomes, b.Outcomes), Late: Late(t.PrimaryCompletion, env.Time), Signature: sig}
	if b.Dataset != "" {
		for _, x := range Exports(st, t) {
			if x.Digest == b.Dataset {
				p.DatasetExport = x.Number
				break
			}
		}
	}
	if p.Discrepancies == nil {
		p.Discrepancies = []Discrepancy{}
	}
	if t.Results == 0 {
		t.FirstResults = env.Time.UTC()
	}
	t.Results++
	t.Discrepancies += uint32(len(p.Discrepancies))
	save(st, postingKey(t.ID, p.Number), &p)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionResults, t.ID)
	ev.Version, ev.Digest = base, b.Dataset
	kinds := make([]string, len(p.Discrepancies))
	for i, d := range p.Discrepancies {
		kinds[i] = d.Kind + " " + d.Measure
	}
	ev.Reason = fmt.Sprintf("%d outcomes, %d discrepancies with version %d", len(b.Outcomes), len(p.Discrepancies), base)
	if len(kinds) > 0 {
		ev.Reason += " (" + strings.Join(kinds, "; ") + ")"
	}
	if p.Late {
		ev.Reason += "; posted after the results deadline"
	}
	switch {
	case p.DatasetExport != 0:
		ev.Reason += fmt.Sprintf("; the analysis dataset is export %d", p.DatasetExport)
	case b.Dataset != "":
		ev.Reason += "; the analysis dataset matches no export event"
	}
	st.Append(ev.Encode())
	return nil
}

func validateReported(b *ResultsBody) *tx.Error {
	if len(b.Outcomes) == 0 || len(b.Outcomes) > maxOutcomes {
		return Space.Err(CodeInvalid, "results report 1 to %d outcomes", maxOutcomes)
	}
	seen := map[string]bool{}
	for i, o := range b.Outcomes {
		for _, f := range []struct{ name, v string }{{"measure", o.Measure}, {"time frame", o.TimeFrame}, {"result", o.Result}} {
			if err := checkText(fmt.Sprintf("reported outcome %d %s", i+1, f.name), f.v, maxText, true); err != nil {
				return err
			}
		}
		if seen[measureKey(o.Measure)] {
			return Space.Err(CodeInvalid, "outcome %q is reported twice", o.Measure)
		}
		seen[measureKey(o.Measure)] = true
	}
	if b.Dataset != "" {
		if _, err := hex.DecodeString(b.Dataset); err != nil || len(b.Dataset) != 64 || strings.ToLower(b.Dataset) != b.Dataset {
			return Space.Err(CodeInvalid, "dataset_sha256 %q: want 64 lowercase hex digits", b.Dataset)
		}
	}
	return nil
}
