package erasure

import (
	"fmt"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecSetRetention sets a category's retention period. Only the registrar does: retention is
// a rule of the network, like its budgets, not any one institution's choice.
func ExecSetRetention(st Store, env identity.Env, signer string, b *SetRetentionBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar sets retention periods; %s is not the registrar", signer)
	}
	if err := CheckPolicy(b.Category, b.Days); err != nil {
		return Space.Err(CodeInvalid, "%v", err)
	}
	if err := checkReason(b.Reason); err != nil {
		return Space.Err(CodeInvalid, "a retention period needs a reason (1 to 500 characters of text, for example the statute it follows): it is what the audit trail shows")
	}
	ps := Policies(st)
	old := PolicyFor(ps, b.Category)
	if b.Days == 0 && (old == nil || old.Category != b.Category) {
		return Space.Err(CodeNotFound, "category %q has no retention policy of its own to remove", b.Category)
	}
	SetPolicies(st, withPolicy(ps, Policy{Category: b.Category, Days: b.Days, Reason: b.Reason, SetBy: signer, SetAt: env.Height}))
	what := fmt.Sprintf("category %s kept %d days after its last write: %s", b.Category, b.Days, b.Reason)
	if b.Days == 0 {
		what = fmt.Sprintf("category %s: retention policy removed: %s", b.Category, b.Reason)
	}
	ev := event(env, signer, audit.RetentionSet, "", "", what)
	if b.Category != AnyCategory {
		ev.Category = b.Category
	}
	st.Append(ev.Encode())
	return nil
}

// Due is a record's standing under the retention policies at a time.
type Due struct {
	Record    string    `json:"record"`
	Patient   string    `json:"patient"`
	Category  string    `json:"category"`
	LastWrite time.Time `json:"last_write"`
	Expires   time.Time `json:"expires"`
	Days      int64     `json:"days"`           // of the policy that governs it
	Hold      string    `json:"hold,omitempty"` // an active legal hold that keeps it
}

// Standing judges record id: nil when it does not exist or is erased, or when no policy
// governs its category. It is the one decision both the contract and the finder use.
func Standing(r records.IndexReader, ps []Policy, id string) *Due {
	m := records.Version(r, id, records.Head(r, id))
	if m == nil {
		return nil
	}
	p := PolicyFor(ps, m.Category)
	if p == nil {
		return nil
	}
	d := &Due{Record: id, Patient: m.Patient, Category: m.Category, LastWrite: time.Unix(m.Time, 0).UTC(),
		Expires: p.ExpiresAt(m.Time), Days: p.Days}
	if h := held(r, m.Patient, []string{id}, false); h != nil {
		d.Hold = h.ID
	}
	return d
}

// DueAt reports whether the record may be expired at now: its period has ended (the block
// time has reached last write plus the period) and no hold keeps it.
func (d *Due) DueAt(now time.Time) bool { return d.Hold == "" && !now.Before(d.Expires) }

// ExecExpire erases every named record, or none: each must exist, be governed by a policy
// whose period has ended at the block time, and be under no legal hold. The tombstone says
// "retention"; the record.expire event names the registrar who sent the expiry, the policy
// and the record's last write.
func ExecExpire(st Store, env identity.Env, signer string, b *ExpireBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar expires records under a retention policy; %s is not the registrar", signer)
	}
	if len(b.Records) == 0 || len(b.Records) > MaxExpire {
		return Space.Err(CodeInvalid, "an expiry names 1 to %d records, not %d", MaxExpire, len(b.Records))
	}
	ps := Policies(st)
	dues := make([]*Due, len(b.Records))
	for i, id := range b.Records {
		if slices.Contains(b.Records[:i], id) {
			return Space.Err(CodeInvalid, "record %s is named twice", id)
		}
		if t := records.Erased(st, id); t != nil {
			return Space.Err(CodeErased, "record %s was already erased at height %d; nothing was expired", id, t.Height)
		}
		d := Standing(st, ps, id)
		switch {
		case d == nil && records.Head(st, id) == 0:
			return Space.Err(CodeNotFound, "there is no record %s; nothing was expired", id)
		case d == nil:
			return Space.Err(CodeNotDue, "record %s: no retention policy covers its category; nothing was expired", id)
		case d.Hold != "":
			return Space.Err(CodeHeld, "record %s is under legal hold %s; nothing was expired", id, d.Hold)
		case !d.DueAt(env.Time):
			return Space.Err(CodeNotDue, "record %s (category %s, last written %s) is kept %d days, until %s; nothing was expired",
				id, d.Category, d.LastWrite.Format(time.RFC3339), d.Days, d.Expires.Format(time.RFC3339))
		}
		dues[i] = d
	}
	for _, d := range dues {
		why := fmt.Sprintf("retention: category %s is kept %d days after its last write (%s)", d.Category, d.Days, d.LastWrite.Format(time.RFC3339))
		t := records.Erase(st, d.Record, records.Tombstone{Height: env.Height, Time: env.Time.Unix(), Tx: env.TxHash, By: "retention", Reason: why})
		ev := event(env, signer, audit.RecordExpire, d.Patient, d.Record, why)
		last := t.Versions[len(t.Versions)-1]
		ev.Version, ev.Category, ev.ResourceType, ev.Digest = last.Version, last.Category, last.ResourceType, t.Digest()
		st.Append(ev.Encode())
	}
	return nil
}

// Finder is the committed state the due-record search reads.
type Finder = records.IndexIterator

// FindDue lists, in record order from the id after ("" from the first), the records
// governed by a policy whose period has ended at now: those that may be expired, and apart
// those a legal hold keeps. At most limit of each (0: no limit).
func FindDue(r Finder, now time.Time, after string, limit int) (due, held []*Due) {
	ps := Policies(r)
	if len(ps) == 0 {
		return nil, nil
	}
	records.EachRecord(r, after, func(id string) bool {
		d := Standing(r, ps, id)
		switch {
		case d == nil || now.Before(d.Expires):
		case d.Hold != "":
			if limit == 0 || len(held) < limit {
				held = append(held, d)
			}
		default:
			due = append(due, d)
		}
		return limit == 0 || len(due) < limit
	})
	return due, held
}
