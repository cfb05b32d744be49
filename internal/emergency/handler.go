package emergency

import (
	"fmt"
	"github.com/ehrchain/ehrchain/internal/access"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Policy limits.
const (
	DefaultWindow = 4 * time.Hour  // break-glass window when a declaration names none
	MaxWindow     = 24 * time.Hour // longest window a declaration may ask for
	MinThreshold  = 2              // shares needed: never one institution alone
	MaxShares     = 16             // custodians one escrow may name
	maxText       = 4096           // reasons, justifications, review notes
)

// event records a break-glass act with the signer's role (the lane records no organization).
func event(env identity.Env, action, actor string) *audit.Event {
	ev := env.Event(actor, action)
	if env.Signer != nil {
		ev.ActorRole = string(env.Signer.Role)
	}
	return ev
}

// requireRole refuses a signer without role; what follows "may".
func requireRole(env identity.Env, signer string, role identity.Role, what string) *tx.Error {
	if m := env.MissingRole(signer, role, "may "+what); m != "" {
		return Space.Err(CodeUnauthorized, "%s", m)
	}
	return nil
}

// textRule is the rule of the lane's free text (reasons, justifications, notes): up to
// maxText, and several lines.
func textRule(required bool) tx.TextRule {
	return tx.TextRule{Required: required, Max: maxText, Multiline: true}
}

// ExecCustodian enrols or retires a custodian institution (registrar only).
func ExecCustodian(st Store, env identity.Env, signer string, b *CustodianBody) *tx.Error {
	if err := requireRole(env, signer, identity.Registrar, "enrol escrow custodians"); err != nil {
		return err
	}
	cur := GetCustodian(st, b.Custodian)
	ev := event(env, audit.EmergencyCustodian, signer)
	ev.Subject = b.Custodian
	if b.Retire {
		if cur == nil || !cur.Active {
			return Space.Err(CodeNotFound, "%s is not an active custodian", b.Custodian)
		}
		cur.Active, cur.RetiredAt = false, env.Height
		save(st, custodianKey(cur.ID), cur)
		ev.Organization, ev.Reason = cur.Institution, "retire"
		st.Append(ev.Encode())
		return nil
	}
	if err := Space.CheckText(CodeInvalid, "institution", b.Institution, textRule(true)); err != nil {
		return err
	}
	if len(b.Institution) > 128 {
		return Space.Err(CodeInvalid, "institution is at most 128 bytes")
	}
	who := identity.Get(st, b.Custodian)
	if who == nil || !who.Active {
		return Space.Err(CodeNotFound, "custodian %s is not an active identity", b.Custodian)
	}
	if who.Role == identity.Patient {
		return Space.Err(CodeInvalid, "a patient cannot be an escrow custodian")
	}
	if cur != nil && cur.Active {
		return Space.Err(CodeDuplicate, "%s is already the custodian of %q", b.Custodian, cur.Institution)
	}
	save(st, custodianKey(b.Custodian), &Custodian{ID: b.Custodian, Institution: b.Institution, Active: true, EnrolledAt: env.Height})
	ev.Organization, ev.Reason = b.Institution, "enrol"
	st.Append(ev.Encode())
	return nil
}

// ExecEscrow stores an escrow of the patient's current key of a category. It replaces an
// earlier escrow of the same version (a new set of custodians).
func ExecEscrow(st Store, env identity.Env, signer string, b *EscrowBody) *tx.Error {
	if err := requireRole(env, signer, identity.Patient, "escrow their category keys"); err != nil {
		return err
	}
	if !consent.ValidCategory(b.Category) {
		return Space.Err(CodeInvalid, "category %q is not a valid category name", b.Category)
	}
	if slices.Contains(OptedOut(st, signer), b.Category) {
		return Space.Err(CodeOptedOut, "you opted category %q out of break-glass; opt back in before escrowing it", b.Category)
	}
	ck := consent.CurrentKey(st, signer, b.Category)
	if ck == nil {
		return Space.Err(CodeNotFound, "you have no key for category %q", b.Category)
	}
	if b.Version != ck.Version {
		return Space.Err(CodeKeyVersion, "escrow of category %q is for key version %d; the current version is %d", b.Category, b.Version, ck.Version)
	}
	n := len(b.Shares)
	if b.Threshold < MinThreshold || n < b.Threshold || n > MaxShares {
		return Space.Err(CodeInvalid, "an escrow needs a threshold of at least %d and between threshold and %d shares (got %d of %d)", MinThreshold, MaxShares, b.Threshold, n)
	}
	seen, insts := map[string]bool{}, map[string]bool{}
	for i, s := range b.Shares {
		c := GetCustodian(st, s.Custodian)
		if c == nil || !c.Active {
			return Space.Err(CodeNotFound, "share %d: %s is not an active custodian", i, s.Custodian)
		}
		if who := identity.Get(st, s.Custodian); who == nil || !who.Active {
			return Space.Err(CodeNotFound, "share %d: custodian %s is not an active identity", i, s.Custodian)
		}
		if seen[s.Custodian] || insts[c.Institution] {
			return Space.Err(CodeInvalid, "share %d: each share must go to a different institution (%q appears twice)", i, c.Institution)
		}
		seen[s.Custodian], insts[c.Institution] = true, true
		if len(s.Sealed) != SealedShareSize {
			return Space.Err(CodeInvalid, "share %d is %d bytes sealed; want %d", i, len(s.Sealed), SealedShareSize)
		}
	}
	e := &Escrow{Patient: signer, Category: b.Category, Version: b.Version, EncKey: ck.EncKey,
		Threshold: b.Threshold, Shares: b.Shares, Height: env.Height}
	refs := escrowRefs(st, signer)
	if GetEscrow(st, signer, b.Category, b.Version) == nil {
		save(st, escrowListKey(signer), append(refs, EscrowRef{b.Category, b.Version}))
	}
	save(st, escrowKey(signer, b.Category, b.Version), e)
	ev := event(env, audit.EmergencyEscrow, signer)
	ev.Patient, ev.Category = signer, b.Category
	ev.Reason = fmt.Sprintf("key version %d, %d of %d custodians", b.Version, b.Threshold, n)
	st.Append(ev.Encode())
	return nil
}

// ExecOptOut opts categories out of break-glass, withdrawing their escrows, or back in.
func ExecOptOut(st Store, env identity.Env, signer string, b *OptOutBody) *tx.Error {
	if err := requireRole(env, signer, identity.Patient, "opt out of break-glass"); err != nil {
		return err
	}
	if len(b.Categories) == 0 || len(b.Categories) > 64 {
		return Space.Err(CodeInvalid, "name between 1 and 64 categories")
	}
	out := OptedOut(st, signer)
	for _, c := range b.Categories {
		if !consent.ValidCategory(c) {
			return Space.Err(CodeInvalid, "category %q is not a valid category name", c)
		}
		if b.Undo {
			out = slices.DeleteFunc(out, func(x string) bool { return x == c })
		} else if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	save(st, optOutKey(signer), out)
	if !b.Undo {
		var keep []EscrowRef
		for _, ref := range escrowRefs(st, signer) {
			if slices.Contains(b.Categories, ref.Category) {
				st.Delete(escrowKey(signer, ref.Category, ref.Version))
				continue
			}
			keep = append(keep, ref)
		}
		save(st, escrowListKey(signer), keep)
	}
	ev := event(env, audit.EmergencyOptOut, signer)
	ev.Patient, ev.Category, ev.Reason = signer, strings.Join(b.Categories, ","), "opt out"
	if b.Undo {
		ev.Reason = "opt back in"
	}
	st.Append(ev.Encode())
	return nil
}

// ExecDeclare records an emergency declaration: the break-glass window opens at block time.
func ExecDeclare(st Store, env identity.Env, signer string, b *DeclareBody) *tx.Error {
	if err := requireRole(env, signer, identity.Provider, "declare an emergency"); err != nil {
		return err
	}
	p := identity.Get(st, b.Patient)
	if p == nil || p.Role != identity.Patient || !p.Active {
		return Space.Err(CodeNotFound, "%s is not an active registered patient", b.Patient)
	}
	if err := Space.CheckText(CodeInvalid, "reason", b.Reason, textRule(true)); err != nil {
		return err
	}
	window := DefaultWindow
	if b.Window != 0 {
		if b.Window < 1 || b.Window > int64(MaxWindow/time.Second) {
			return Space.Err(CodeInvalid, "window is %d s; it must be between 1 s and %s", b.Window, MaxWindow)
		}
		window = time.Duration(b.Window) * time.Second
	}
	visible, out := Visible(st, b.Patient), OptedOut(st, b.Patient)
	cats := visible
	if len(b.Categories) > 0 {
		cats = nil
		for _, c := range b.Categories {
			switch {
			case slices.Contains(out, c):
				return Space.Err(CodeOptedOut, "the patient opted category %q out of break-glass", c)
			case !slices.Contains(visible, c):
				return Space.Err(CodeNotFound, "the patient has not escrowed category %q for emergencies", c)
			case !slices.Contains(cats, c):
				cats = append(cats, c)
			}
		}
	}
	if len(cats) == 0 {
		return Space.Err(CodeNotFound, "patient %s has no emergency-visible category (none escrowed, or all opted out)", b.Patient)
	}
	d := &Declaration{ID: DeclarationID(env.TxHash), Patient: b.Patient, Provider: signer, Organization: env.Signer.Organization,
		Reason: b.Reason, Purpose: consent.Emergency, Categories: cats, Start: env.Time, Expiry: env.Time.Add(window), Height: env.Height}
	save(st, declKey(d.ID), d)
	var ids []string
	if p := load[[]string](st, declListKey(b.Patient)); p != nil {
		ids = *p
	}
	save(st, declListKey(b.Patient), append(ids, d.ID))
	ev := event(env, audit.EmergencyDeclare, signer)
	ev.Organization, ev.Patient, ev.Purpose, ev.Emergency = d.Organization, d.Patient, consent.Emergency, d.ID
	ev.Category, ev.Reason = strings.Join(cats, ","), b.Reason
	st.Append(ev.Encode())
	return nil
}

// ExecRelease stores a custodian's share re-sealed to the declaring provider, while the
// declaration's window is open and the category is still emergency-visible.
func ExecRelease(st Store, env identity.Env, signer string, b *ReleaseBody) *tx.Error {
	c := GetCustodian(st, signer)
	if c == nil || !c.Active {
		return Space.Err(CodeUnauthorized, "%s is not an active escrow custodian", signer)
	}
	d := GetDeclaration(st, b.Declaration)
	if d == nil {
		return Space.Err(CodeNotFound, "no emergency declaration %s: shares are released only for an on-chain declaration", b.Declaration)
	}
	if !d.Active(env.Time) {
		return Space.Err(CodeWindow, "declaration %s window closed at %s", d.ID, d.Expiry.Format(time.RFC3339))
	}
	if !slices.Contains(d.Categories, b.Category) {
		return Space.Err(CodeInvalid, "declaration %s does not cover category %q", d.ID, b.Category)
	}
	if slices.Contains(OptedOut(st, d.Patient), b.Category) {
		return Space.Err(CodeOptedOut, "the patient opted category %q out of break-glass", b.Category)
	}
	if p := identity.Get(st, d.Provider); p == nil || !p.Active {
		return Space.Err(CodeUnauthorized, "the declaring provider %s is no longer active", d.Provider)
	}
	e := GetEscrow(st, d.Patient, b.Category, b.Version)
	if e == nil {
		return Space.Err(CodeNotFound, "the patient has no escrow of category %q version %d", b.Category, b.Version)
	}
	slot := slices.IndexFunc(e.Shares, func(s EscrowShare) bool { return s.Custodian == signer })
	if slot < 0 {
		return Space.Err(CodeUnauthorized, "%s holds no share of category %q version %d", signer, b.Category, b.Version)
	}
	if slices.ContainsFunc(d.Releases, func(r Release) bool {
		return r.Custodian == signer && r.Category == b.Category && r.Version == b.Version && r.Escrow == e.Height
	}) {
		return Space.Err(CodeDuplicate, "%s already released its share of %q version %d for %s", signer, b.Category, b.Version, d.ID)
	}
	if len(b.Sealed) != SealedShareSize {
		return Space.Err(CodeInvalid, "released share is %d bytes sealed; want %d", len(b.Sealed), SealedShareSize)
	}
	d.Releases = append(d.Releases, Release{Custodian: signer, Category: b.Category, Version: b.Version, Slot: slot, Escrow: e.Height, Sealed: b.Sealed, Height: env.Height})
	save(st, declKey(d.ID), d)
	ev := event(env, audit.EmergencyRelease, signer)
	ev.Organization, ev.Patient, ev.Subject, ev.Purpose = c.Institution, d.Patient, d.Provider, consent.Emergency
	ev.Category, ev.Emergency = b.Category, d.ID
	ev.Reason = fmt.Sprintf("share of key version %d (threshold %d of %d)", b.Version, e.Threshold, len(e.Shares))
	st.Append(ev.Encode())
	return nil
}

// ExecJustify records the declaring provider's justification (once).
func ExecJustify(st Store, env identity.Env, signer string, b *JustifyBody) *tx.Error {
	d := GetDeclaration(st, b.Declaration)
	if d == nil {
		return Space.Err(CodeNotFound, "no emergency declaration %s", b.Declaration)
	}
	if d.Provider != signer {
		return Space.Err(CodeUnauthorized, "only the declaring provider %s justifies %s", d.Provider, d.ID)
	}
	if d.Justification != nil {
		return Space.Err(CodeDuplicate, "%s was already justified at height %d", d.ID, d.Justification.Height)
	}
	if err := Space.CheckText(CodeInvalid, "justification", b.Text, textRule(true)); err != nil {
		return err
	}
	d.Justification = &Statement{Text: b.Text, Height: env.Height, Time: env.Time}
	save(st, declKey(d.ID), d)
	ev := event(env, audit.EmergencyJustify, signer)
	ev.Patient, ev.Purpose, ev.Emergency, ev.Reason = d.Patient, consent.Emergency, d.ID, b.Text
	st.Append(ev.Encode())
	return nil
}

// ExecReview records an auditor's verdict on a justified declaration (once).
func ExecReview(st Store, env identity.Env, signer string, b *ReviewBody) *tx.Error {
	if err := requireRole(env, signer, identity.Auditor, "review emergency accesses"); err != nil {
		return err
	}
	d := GetDeclaration(st, b.Declaration)
	if d == nil {
		return Space.Err(CodeNotFound, "no emergency declaration %s", b.Declaration)
	}
	if d.Justification == nil {
		return Space.Err(CodeNotJustified, "%s has no justification from the provider yet", d.ID)
	}
	if d.Review != nil {
		return Space.Err(CodeDuplicate, "%s was already reviewed by %s", d.ID, d.Review.Auditor)
	}
	if b.Verdict != Appropriate && b.Verdict != Inappropriate {
		return Space.Err(CodeInvalid, "verdict %q: want %s or %s", b.Verdict, Appropriate, Inappropriate)
	}
	if err := Space.CheckText(CodeInvalid, "note", b.Note, textRule(false)); err != nil {
		return err
	}
	d.Review = &Verdict{Auditor: signer, Verdict: b.Verdict, Note: b.Note, Height: env.Height, Time: env.Time}
	save(st, declKey(d.ID), d)
	ev := event(env, audit.EmergencyReview, signer)
	ev.Patient, ev.Subject, ev.Emergency, ev.Reason = d.Patient, d.Provider, d.ID, b.Verdict
	if b.Note != "" {
		ev.Reason += ": " + b.Note
	}
	st.Append(ev.Encode())
	return nil
}

// ExecUrgentPut writes a record under the signer's active emergency declaration for the
// patient. It needs no grant; the write event names the declaration.
func ExecUrgentPut(st records.Store, env identity.Env, signer string, b *UrgentPutBody) *tx.Error {
	if err := requireRole(env, signer, identity.Provider, "write under an emergency declaration"); err != nil {
		return err
	}
	if d := records.DecideWrite(st, env.Signer, &b.Meta, access.Emergency, env.Time, Facts); !d.Allowed {
		return Space.Err(CodeWindow, "an urgent write needs an active emergency declaration by you for patient %s: %s", b.Meta.Patient, d.Reason)
	}
	return records.ExecPutFor(st, env, signer, &b.PutBody, access.Emergency, Facts)
}
