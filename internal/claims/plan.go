package claims

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Any matches every code (or every system) in a benefit rule.
const Any = "*"

// Benefit is one coverage rule: which service codes it covers and how the cost is shared.
// A rule names a code system (http://snomed.info/sct, http://www.ama-assn.org/go/cpt, ...)
// and a code; "*" as the code covers every code of the system, "*" as both covers anything
// not matched more precisely.
type Benefit struct {
	System        string `json:"system"`
	Code          string `json:"code"`
	Display       string `json:"display,omitempty"`
	Excluded      bool   `json:"excluded,omitempty"`        // the service is not covered
	MaxPerService int64  `json:"max_per_service,omitempty"` // most cents allowed for one line; 0: no limit
	PeriodLimit   int64  `json:"period_limit,omitempty"`    // most cents allowed per calendar year for this rule; 0: no limit
	Copay         int64  `json:"copay,omitempty"`           // cents the patient pays per line first
	CoinsuranceBP int64  `json:"coinsurance_bp,omitempty"`  // the patient's share of the rest, in basis points
	PriorAuth     bool   `json:"prior_auth,omitempty"`      // needs an approved prior authorization
}

// Plan is one version of a coverage plan. Versions of a plan are numbered from 1; a claim is
// judged by the newest version whose validity includes the date of service.
type Plan struct {
	ID          string    `json:"id"`
	Insurer     string    `json:"insurer"`
	Version     uint32    `json:"version"` // assigned by the contract
	Name        string    `json:"name"`
	Effective   Date      `json:"effective"`     // first day of service this version judges
	End         Date      `json:"end,omitempty"` // last day (inclusive); empty: open-ended
	Benefits    []Benefit `json:"benefits"`
	PublishedAt int64     `json:"published_at"` // height
}

var planIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Covers reports whether the version judges services on day d.
func (p *Plan) Covers(d Date) bool { return p.Effective <= d && (p.End == "" || d <= p.End) }

// Match finds the rule for a service code: exact code, then the system's "*", then "*/*".
func (p *Plan) Match(system, code string) *Benefit {
	for _, pass := range [][2]string{{system, code}, {system, Any}, {Any, Any}} {
		for i := range p.Benefits {
			if b := &p.Benefits[i]; b.System == pass[0] && b.Code == pass[1] {
				return b
			}
		}
	}
	return nil
}

func planKey(insurer, id string, v uint32) []byte {
	return fmt.Appendf(nil, "planv/%s/%s/%010d", insurer, id, v)
}
func planHeadKey(insurer, id string) []byte { return []byte("planh/" + insurer + "/" + id) }

// PlanPrefix lists an insurer's plans (keys planh/<insurer>/<plan>).
func PlanPrefix(insurer string) []byte { return []byte("planh/" + insurer + "/") }

// Reader is the state the claims rules read.
type Reader interface{ Get(key []byte) []byte }

// Store is the state the claims handlers write.
type Store interface {
	Reader
	Set(key, value []byte)
	Append(leaf []byte) uint64
	GetIndex(key []byte) []byte
}

// PlanHead is the newest version number of a plan, 0 if none.
func PlanHead(r Reader, insurer, id string) uint32 {
	b := r.Get(planHeadKey(insurer, id))
	if b == nil {
		return 0
	}
	v, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		panic(fmt.Errorf("plan head %s/%s is corrupt: %w", insurer, id, err))
	}
	return uint32(v)
}

// PlanVersion loads one version, or nil.
func PlanVersion(r Reader, insurer, id string, v uint32) *Plan {
	return load[Plan](r, planKey(insurer, id, v))
}

// PlanVersions loads every version of a plan, oldest first.
func PlanVersions(r Reader, insurer, id string) []*Plan {
	var out []*Plan
	for v := uint32(1); v <= PlanHead(r, insurer, id); v++ {
		out = append(out, PlanVersion(r, insurer, id, v))
	}
	return out
}

// InForce is the plan version that judges services on day d: the newest one covering d.
func InForce(r Reader, insurer, id string, d Date) *Plan {
	for v := PlanHead(r, insurer, id); v >= 1; v-- {
		if p := PlanVersion(r, insurer, id, v); p.Covers(d) {
			return p
		}
	}
	return nil
}

// PublishPlanBody publishes a plan, or a new version of it.
type PublishPlanBody struct {
	Plan Plan `json:"plan"`
}

// ExecPublishPlan validates and stores a plan version.
func ExecPublishPlan(st Store, env identity.Env, signer string, b *PublishPlanBody) *tx.Error {
	if err := requireRole(env, signer, identity.Insurer, "publishes coverage plans"); err != nil {
		return err
	}
	p := b.Plan
	if err := p.validate(); err != nil {
		return err
	}
	if p.Insurer != "" && p.Insurer != signer {
		return Space.Err(CodeUnauthorized, "an insurer publishes only its own plans")
	}
	head := PlanHead(st, signer, p.ID)
	if head > 0 {
		prev := PlanVersion(st, signer, p.ID, head)
		if p.Effective <= prev.Effective {
			return Space.Err(CodePlanVersion, "plan %s version %d takes effect %s; a new version must take effect after that (rules are never changed retroactively)", p.ID, head, prev.Effective)
		}
	}
	p.Insurer, p.Version, p.PublishedAt = signer, head+1, env.Height
	st.Set(planKey(signer, p.ID, p.Version), mustJSON(&p))
	st.Set(planHeadKey(signer, p.ID), []byte(strconv.FormatUint(uint64(p.Version), 10)))
	ev := event(env, signer, audit.PlanPublish, "")
	ev.Reason = fmt.Sprintf("plan %s version %d effective %s, %d rules", p.ID, p.Version, p.Effective, len(p.Benefits))
	st.Append(ev.Encode())
	return nil
}

func (p *Plan) validate() *tx.Error {
	if !planIDRe.MatchString(p.ID) {
		return Space.Err(CodeInvalid, "plan id %q: use 1-64 letters, digits, '.', '_' or '-'", p.ID)
	}
	if err := Space.CheckText(CodeInvalid, "plan name", p.Name, tx.TextRule{Max: 128}); err != nil {
		return err
	}
	if !p.Effective.valid() {
		return Space.Err(CodeInvalid, "plan effective date %q: want YYYY-MM-DD", p.Effective)
	}
	if p.End != "" && (!p.End.valid() || p.End < p.Effective) {
		return Space.Err(CodeInvalid, "plan end date %q must be a date on or after the effective date %s", p.End, p.Effective)
	}
	if len(p.Benefits) == 0 || len(p.Benefits) > 2000 {
		return Space.Err(CodeInvalid, "a plan has 1 to 2000 benefit rules")
	}
	seen := map[[2]string]bool{}
	for i, b := range p.Benefits {
		if b.System == "" || b.Code == "" || len(b.System) > 256 || len(b.Code) > 64 || (b.System == Any && b.Code != Any) {
			return Space.Err(CodeInvalid, "benefit %d: a rule needs a code system (up to 256 bytes) and a code (up to 64), or * for any", i+1)
		}
		if err := Space.CheckText(CodeInvalid, "benefit display", b.Display, tx.TextRule{Max: 256}); err != nil {
			return err
		}
		k := [2]string{b.System, b.Code}
		if seen[k] {
			return Space.Err(CodeInvalid, "benefit %d: %s|%s has two rules", i+1, b.System, b.Code)
		}
		seen[k] = true
		for _, a := range []struct {
			name string
			v    int64
		}{{"max_per_service", b.MaxPerService}, {"period_limit", b.PeriodLimit}, {"copay", b.Copay}} {
			if a.v < 0 || a.v > MaxAmount {
				return Space.Err(CodeInvalid, "benefit %d: %s %d is outside 0..%d cents", i+1, a.name, a.v, int64(MaxAmount))
			}
		}
		if b.CoinsuranceBP < 0 || b.CoinsuranceBP > MaxBP {
			return Space.Err(CodeInvalid, "benefit %d: coinsurance %d basis points is outside 0..10000", i+1, b.CoinsuranceBP)
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}

// load decodes a stored JSON value, or returns nil if the key is absent.
func load[T any](r Reader, key []byte) *T { return tx.LoadJSON[T](r, key, "claims") }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
