package claims

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Appeal statuses.
const (
	AppealPending    = "pending"
	AppealUpheld     = "upheld"     // the denial stands
	AppealOverturned = "overturned" // the line was re-adjudicated
)

// Appeal is a request to re-adjudicate a denied or partly denied line, and its decision.
type Appeal struct {
	By       string  `json:"by"`
	Reason   string  `json:"reason"`
	Height   int64   `json:"height"`
	Status   string  `json:"status"`
	Original *Result `json:"original,omitempty"` // the line's result before an overturn
	Note     string  `json:"note,omitempty"`
	Decided  int64   `json:"decided_at,omitempty"`
}

// AppealBody appeals one line of a claim.
type AppealBody struct {
	Claim  string `json:"claim"`
	Line   int    `json:"line"` // sequence
	Reason string `json:"reason"`
}

// AppealDecisionBody decides an appeal. Overturning re-adjudicates the line with Allowed as
// the allowed amount; the plan's cost sharing for the line's rule (if any) still applies.
type AppealDecisionBody struct {
	Claim    string `json:"claim"`
	Line     int    `json:"line"`
	Overturn bool   `json:"overturn"`
	Allowed  int64  `json:"allowed,omitempty"` // cents, when overturned
	Note     string `json:"note,omitempty"`
}

func lineOf(c *Claim, seq int) *Line {
	for i := range c.Lines {
		if c.Lines[i].Seq == seq {
			return &c.Lines[i]
		}
	}
	return nil
}

// ExecAppeal opens an appeal: by the claim's provider or its patient, on a line that was not
// approved in full, once.
func ExecAppeal(st Store, env identity.Env, signer string, b *AppealBody) *tx.Error {
	c := GetClaim(st, b.Claim)
	if c == nil {
		return Space.Err(CodeNotFound, "no claim %s", b.Claim)
	}
	if signer != c.Provider && signer != c.Patient {
		return Space.Err(CodeUnauthorized, "only the claim's provider or its patient may appeal it")
	}
	l := lineOf(c, b.Line)
	switch {
	case l == nil:
		return Space.Err(CodeNotFound, "claim %s has no line %d", c.ID, b.Line)
	case l.Outcome == Approved:
		return Space.Err(CodeState, "line %d of claim %s was approved in full; there is nothing to appeal", b.Line, c.ID)
	case l.Appeal != nil:
		return Space.Err(CodeState, "line %d of claim %s was already appealed (%s)", b.Line, c.ID, l.Appeal.Status)
	case b.Reason == "":
		return Space.Err(CodeInvalid, "an appeal needs a reason")
	}
	if err := Space.CheckText(CodeInvalid, "reason", b.Reason, tx.TextRule{Max: 1024}); err != nil {
		return err
	}
	l.Appeal = &Appeal{By: signer, Reason: b.Reason, Height: env.Height, Status: AppealPending}
	putClaim(st, c)
	ev := claimEvent(env, signer, audit.ClaimAppeal, c)
	ev.Subject = c.Insurer
	ev.Reason = fmt.Sprintf("line %d: %s", b.Line, b.Reason)
	st.Append(ev.Encode())
	return nil
}

// ExecDecideAppeal lets the claim's insurer uphold the denial or re-adjudicate the line.
func ExecDecideAppeal(st Store, env identity.Env, signer string, b *AppealDecisionBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "decides appeals"); err != nil {
		return err
	}
	c := GetClaim(st, b.Claim)
	if c == nil {
		return Space.Err(CodeNotFound, "no claim %s", b.Claim)
	}
	if c.Insurer != signer {
		return Space.Err(CodeUnauthorized, "claim %s was submitted to another insurer", c.ID)
	}
	l := lineOf(c, b.Line)
	switch {
	case l == nil:
		return Space.Err(CodeNotFound, "claim %s has no line %d", c.ID, b.Line)
	case l.Appeal == nil || l.Appeal.Status != AppealPending:
		return Space.Err(CodeState, "line %d of claim %s has no pending appeal", b.Line, c.ID)
	}
	if err := Space.CheckText(CodeInvalid, "note", b.Note, tx.TextRule{Max: 1024}); err != nil {
		return err
	}
	orig := l.Result
	l.Appeal.Note, l.Appeal.Decided = b.Note, env.Height
	if !b.Overturn {
		l.Appeal.Status = AppealUpheld
		l.Reasons = append(l.Reasons, ReasonAppealUpheld)
	} else {
		if b.Allowed <= l.Allowed || b.Allowed > l.Charge {
			return Space.Err(CodeAmount, "an overturned line's allowed amount must be above the %s allowed and at most the %s charged", FormatCents(l.Allowed), FormatCents(l.Charge))
		}
		var rule *Benefit
		if c.Plan != "" {
			if p := PlanVersion(st, c.Insurer, c.Plan, c.PlanVersion); p != nil {
				if m := p.Match(l.System, l.Code); m != nil && !m.Excluded {
					rule = m
				}
			}
		}
		if rule != nil && c.Plan != "" {
			k := usageKey(c, RuleKey(rule))
			st.Set(k, fmt.Appendf(nil, "%d", readUsage(st, k)+b.Allowed-l.Allowed))
		}
		l.Appeal.Status, l.Appeal.Original = AppealOverturned, &orig
		l.Allowed = b.Allowed
		l.Copay, l.Coinsurance, l.Payer = costShare(rule, b.Allowed)
		l.Outcome, l.Reasons = Approved, nil
		if b.Allowed < l.Charge {
			l.Outcome = Partial
		}
	}
	c.totals()
	putClaim(st, c)
	ev := claimEvent(env, signer, audit.ClaimAppealDecide, c)
	ev.Subject = c.Provider
	ev.Reason = fmt.Sprintf("line %d %s: allowed %s -> %s, payer %s -> %s", b.Line, l.Appeal.Status,
		FormatCents(orig.Allowed), FormatCents(l.Allowed), FormatCents(orig.Payer), FormatCents(l.Payer))
	if b.Note != "" {
		ev.Reason += "; " + b.Note
	}
	st.Append(ev.Encode())
	return nil
}
