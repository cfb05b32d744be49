package claims

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ClaimResourceType is the resource type consent grants name to let an insurer receive
// claims ("Claim"); the category is the encounter record's.
const ClaimResourceType = consent.ClaimResourceType

// Claim statuses.
const (
	StatusPayable       = "payable"        // adjudicated, payment owed
	StatusPartiallyPaid = "partially-paid" // some of it paid
	StatusPaid          = "paid"           // everything owed paid (or nothing owed on approved lines)
	StatusDenied        = "denied"         // every line denied
)

// EncounterRef points at the encounter record a claim bills for: the record id and version
// and the SHA-256 of its ciphertext (records.Meta.Digest), so the claim is bound to exactly
// what the provider wrote.
type EncounterRef struct {
	Record  string `json:"record"`
	Version uint32 `json:"version"`
	Digest  string `json:"digest"` // lowercase hex
}

// SubmitBody is a provider's claim.
type SubmitBody struct {
	Patient     string       `json:"patient"`
	Insurer     string       `json:"insurer"`
	Encounter   EncounterRef `json:"encounter"`
	ServiceDate Date         `json:"service_date"`
	PriorAuths  []string     `json:"prior_auths,omitempty"` // FHIR Claim.insurance.preAuthRef
	Lines       []LineInput  `json:"lines"`
	Source      string       `json:"source,omitempty"` // id of the FHIR Claim it was built from
	ClaimType   string       `json:"type,omitempty"`   // FHIR claim-type: institutional (default), oral, pharmacy, professional, vision
}

// claimTypes are the FHIR R4 claim-type codes.
var claimTypes = []string{"institutional", "oral", "pharmacy", "professional", "vision"}

// Line is a submitted line with its adjudication and, if appealed, the appeal.
type Line struct {
	LineInput
	Result
	Appeal *Appeal `json:"appeal,omitempty"`
}

// Payment is one payment the insurer recorded against a claim.
type Payment struct {
	Amount    int64     `json:"amount"`
	Reference string    `json:"reference"`
	Height    int64     `json:"height"`
	Time      time.Time `json:"time"`
}

// Claim is a submitted, adjudicated claim as stored.
type Claim struct {
	ID           string       `json:"id"`
	Provider     string       `json:"provider"`
	Organization string       `json:"organization,omitempty"`
	Patient      string       `json:"patient"`
	Insurer      string       `json:"insurer"`
	Plan         string       `json:"plan,omitempty"`
	PlanVersion  uint32       `json:"plan_version,omitempty"`
	MemberID     string       `json:"member_id,omitempty"`
	Encounter    EncounterRef `json:"encounter"`
	Category     string       `json:"category"` // the encounter record's category
	ServiceDate  Date         `json:"service_date"`
	Source       string       `json:"source,omitempty"`
	Type         string       `json:"type"`
	Consent      string       `json:"consent"` // grant that let the insurer receive it
	Lines        []Line       `json:"lines"`
	Submitted    int64        `json:"submitted"`     // total charge, cents
	Payable      int64        `json:"payable"`       // payment obligation of the insurer
	PatientShare int64        `json:"patient_share"` // what the patient owes
	Paid         int64        `json:"paid"`
	Payments     []Payment    `json:"payments,omitempty"`
	Status       string       `json:"status"`
	Height       int64        `json:"height"`
	Time         time.Time    `json:"time"`
	DuplicateKey string       `json:"duplicate_key"`
}

// ClaimID is the id of the claim submitted by the transaction with this hash.
func ClaimID(txHash string) string { return "cl-" + txHash[:16] }

func claimKey(id string) []byte { return []byte("claim/" + id) }

// Claim index prefixes: by patient, by provider, by insurer.
func byPatient(p string) []byte  { return []byte("claimp/" + p + "/") }
func byProvider(p string) []byte { return []byte("claimv/" + p + "/") }
func byInsurer(p string) []byte  { return []byte("claimi/" + p + "/") }
func dupKey(k string) []byte     { return []byte("claimdup/" + k) }
func usageKey(c *Claim, rule string) []byte {
	return []byte("usage/" + c.Patient + "/" + c.Insurer + "/" + c.Plan + "/" + c.ServiceDate.Year() + "/" + rule)
}

// ClaimPrefixes are the index prefixes listing the claims an identity is a party to, by its
// role in them.
func ClaimPrefixes(id string) [][]byte { return [][]byte{byPatient(id), byProvider(id), byInsurer(id)} }

// GetClaim loads a claim, or nil.
func GetClaim(r Reader, id string) *Claim { return load[Claim](r, claimKey(id)) }

func putClaim(st Store, c *Claim) {
	c.Time = c.Time.UTC()
	for i := range c.Payments {
		c.Payments[i].Time = c.Payments[i].Time.UTC()
	}
	c.Status = c.status()
	st.Set(claimKey(c.ID), mustJSON(c))
}

func (c *Claim) status() string {
	if !slices.ContainsFunc(c.Lines, func(l Line) bool { return l.Outcome != Denied }) {
		return StatusDenied
	}
	switch {
	case c.Paid >= c.Payable:
		return StatusPaid
	case c.Paid > 0:
		return StatusPartiallyPaid
	}
	return StatusPayable
}

func (c *Claim) totals() {
	c.Payable, c.PatientShare = 0, 0
	for _, l := range c.Lines {
		c.Payable += l.Payer
		c.PatientShare += l.PatientShare()
	}
}

// DuplicateKey identifies a claim for duplicate detection: provider, patient, insurer, date of
// service, encounter record, and the sorted (code, quantity, charge) of its lines. The same
// services billed twice for the same encounter and day collide whatever the line order.
func DuplicateKey(provider string, b *SubmitBody) string {
	ls := make([]string, len(b.Lines))
	for i, l := range b.Lines {
		ls[i] = fmt.Sprintf("%s|%s|%d|%d", l.System, l.Code, l.Quantity, l.Charge)
	}
	slices.Sort(ls)
	h := sha256.New()
	for _, s := range append([]string{"ehrchain/claim-dup/v1", provider, b.Patient, b.Insurer, string(b.ServiceDate), b.Encounter.Record}, ls...) {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b *SubmitBody) validate(now time.Time) *tx.Error {
	if !b.ServiceDate.valid() {
		return Space.Err(CodeInvalid, "date of service %q: want YYYY-MM-DD", b.ServiceDate)
	}
	if b.ServiceDate > DateOf(now.UTC()) {
		return Space.Err(CodeInvalid, "date of service %s is after the block date %s: a claim bills a service already provided", b.ServiceDate, DateOf(now.UTC()))
	}
	if !records.ValidID(b.Encounter.Record) || b.Encounter.Version == 0 {
		return Space.Err(CodeInvalid, "the claim must reference its encounter record by id and version")
	}
	if d, err := hex.DecodeString(b.Encounter.Digest); err != nil || len(d) != 32 || hex.EncodeToString(d) != b.Encounter.Digest {
		return Space.Err(CodeInvalid, "encounter digest must be 64 lowercase hex characters (SHA-256 of the record's ciphertext)")
	}
	if len(b.Lines) == 0 || len(b.Lines) > MaxLines {
		return Space.Err(CodeInvalid, "a claim has 1 to %d lines, got %d", MaxLines, len(b.Lines))
	}
	if len(b.PriorAuths) > MaxLines {
		return Space.Err(CodeInvalid, "at most %d prior authorization references", MaxLines)
	}
	if err := Space.CheckText(CodeInvalid, "source", b.Source, tx.TextRule{Max: 128}); err != nil {
		return err
	}
	if b.ClaimType != "" && !slices.Contains(claimTypes, b.ClaimType) {
		return Space.Err(CodeInvalid, "claim type %q: use one of %s", b.ClaimType, strings.Join(claimTypes, ", "))
	}
	seqs := map[int]bool{}
	for i, l := range b.Lines {
		switch {
		case l.Seq <= 0 || seqs[l.Seq]:
			return Space.Err(CodeInvalid, "line %d: sequence %d must be positive and unique", i+1, l.Seq)
		case l.System == "" || l.Code == "" || l.System == Any || l.Code == Any || len(l.System) > 256 || len(l.Code) > 64:
			return Space.Err(CodeInvalid, "line %d: a service needs a code system (up to 256 bytes) and a code (up to 64)", l.Seq)
		case l.Quantity < 1 || l.Quantity > 10000:
			return Space.Err(CodeInvalid, "line %d: quantity %d is outside 1..10000", l.Seq, l.Quantity)
		case l.Charge < 1 || l.Charge > MaxAmount:
			return Space.Err(CodeInvalid, "line %d: charge %d cents is outside 1..%d", l.Seq, l.Charge, int64(MaxAmount))
		}
		if err := Space.CheckText(CodeInvalid, "line display", l.Display, tx.TextRule{Max: 256}); err != nil {
			return err
		}
		seqs[l.Seq] = true
	}
	return nil
}

// ExecSubmit checks a claim and adjudicates it at commit.
func ExecSubmit(st Store, env identity.Env, signer string, b *SubmitBody) *tx.Error {
	if err := requireRole(env, signer, identity.Provider, "submits claims"); err != nil {
		return err
	}
	if err := b.validate(env.Time); err != nil {
		return err
	}
	if err := activePatient(st, b.Patient); err != nil {
		return err
	}
	ins := identity.Get(st, b.Insurer)
	if ins == nil || ins.Role != identity.Insurer || !ins.Active {
		return Space.Err(CodeNotFound, "%s is not an active registered insurer", b.Insurer)
	}
	enc := records.Version(st, b.Encounter.Record, b.Encounter.Version)
	switch {
	case enc == nil:
		return Space.Err(CodeEncounter, "encounter record %s version %d does not exist", b.Encounter.Record, b.Encounter.Version)
	case hex.EncodeToString(enc.Digest[:]) != b.Encounter.Digest:
		return Space.Err(CodeEncounter, "encounter record %s version %d has another digest: the claim does not bill what was recorded", b.Encounter.Record, b.Encounter.Version)
	case enc.Patient != b.Patient:
		return Space.Err(CodeEncounter, "encounter record %s belongs to another patient", b.Encounter.Record)
	case enc.ResourceType != "Encounter":
		return Space.Err(CodeEncounter, "record %s is a %s, not an Encounter", b.Encounter.Record, enc.ResourceType)
	case enc.Author != signer:
		return Space.Err(CodeNotAuthor, "encounter record %s was written by %s: only the provider who recorded the encounter may bill it", b.Encounter.Record, enc.Author)
	case string(b.ServiceDate) > time.Unix(enc.Time, 0).UTC().Format(time.DateOnly):
		return Space.Err(CodeInvalid, "date of service %s is after the encounter was recorded", b.ServiceDate)
	}
	if b.ClaimType == "" {
		b.ClaimType = "institutional"
	}
	id := ClaimID(env.TxHash)
	d := insurerReceives(st, ins, b.Patient, id, enc.Category, env.Time)
	if !d.Allowed {
		return Space.Err(CodeNoConsent, "the patient has not consented to %s receiving this claim for payment: %s", b.Insurer, d.Reason)
	}
	dk := DuplicateKey(signer, b)
	if prev := st.Get(dupKey(dk)); prev != nil {
		return Space.Err(CodeDuplicate, "duplicate of claim %s (same provider, patient, insurer, date of service, encounter and services)", prev)
	}

	c := &Claim{ID: id, Provider: signer, Organization: env.Signer.Organization, Patient: b.Patient, Insurer: b.Insurer,
		Encounter: b.Encounter, Category: enc.Category, ServiceDate: b.ServiceDate, Source: b.Source, Type: b.ClaimType, Consent: d.Grant,
		Height: env.Height, Time: env.Time, DuplicateKey: dk}
	var j Judge
	cov, why := eligibility(Coverages(st, b.Patient, b.Insurer), b.ServiceDate)
	if cov != nil {
		c.Plan, c.MemberID = cov.Plan, cov.MemberID
		if j.Plan = InForce(st, b.Insurer, cov.Plan, b.ServiceDate); j.Plan == nil {
			why = ReasonBeforeCoverage
			if PlanVersion(st, b.Insurer, cov.Plan, 1).Effective <= b.ServiceDate {
				why = ReasonAfterCoverage
			}
		} else {
			c.PlanVersion = j.Plan.Version
		}
	}
	j.Ineligible = why
	j.Used = func(rule string) int64 { return readUsage(st, usageKey(c, rule)) }
	var authUse []*PriorAuth
	j.Authorize = func(l LineInput) string {
		for _, ref := range b.PriorAuths {
			pa := GetAuth(st, ref)
			if pa == nil {
				continue
			}
			used := 0
			for _, u := range authUse {
				if u.ID == pa.ID {
					used++
				}
			}
			if pa.usable(signer, b.Patient, b.Insurer, l, b.ServiceDate, used) {
				authUse = append(authUse, pa)
				return pa.ID
			}
		}
		return ""
	}
	res, usage := Adjudicate(j, b.Lines)
	for i, l := range b.Lines {
		c.Lines = append(c.Lines, Line{LineInput: l, Result: res[i]})
		c.Submitted += l.Charge
	}
	c.totals()
	for _, u := range usage {
		k := usageKey(c, u.Rule)
		st.Set(k, []byte(strconv.FormatInt(readUsage(st, k)+u.Amount, 10)))
	}
	for _, pa := range authUse {
		cur := GetAuth(st, pa.ID)
		cur.Used++
		cur.Claims = append(cur.Claims, id)
		st.Set(authKey(cur.ID), mustJSON(cur))
	}
	putClaim(st, c)
	for _, p := range [][]byte{byPatient(c.Patient), byProvider(c.Provider), byInsurer(c.Insurer)} {
		st.Set(append(p, id...), []byte{1})
	}
	st.Set(dupKey(dk), []byte(id))

	ev := claimEvent(env, signer, audit.ClaimSubmit, c)
	ev.Subject, ev.Grant = c.Insurer, c.Consent
	ev.Reason = fmt.Sprintf("%d lines, %s charged, date of service %s", len(c.Lines), FormatCents(c.Submitted), c.ServiceDate)
	st.Append(ev.Encode())
	ev = claimEvent(env, c.Insurer, audit.ClaimAdjudicate, c)
	ev.ActorRole, ev.Organization, ev.Subject = string(identity.Insurer), ins.Organization, c.Provider
	ev.Reason = summaryText(res, c.Payable, c.PatientShare)
	if c.Plan != "" {
		ev.Reason += fmt.Sprintf("; plan %s version %d", c.Plan, c.PlanVersion)
	}
	if reasons := denialCodes(res); reasons != "" {
		ev.Reason += "; reasons " + reasons
	}
	st.Append(ev.Encode())
	return nil
}

// claimEvent is an audit event about a claim: who acted, for which patient, on which
// encounter record (never the claim's content beyond its category).
func claimEvent(env identity.Env, actor, action string, c *Claim) *audit.Event {
	ev := event(env, actor, action, c.Patient)
	ev.Claim, ev.Record, ev.Version = c.ID, c.Encounter.Record, c.Encounter.Version
	ev.Category, ev.ResourceType = c.Category, ClaimResourceType
	return ev
}

func denialCodes(res []Result) string {
	var codes []string
	for _, r := range res {
		for _, x := range r.Reasons {
			if !slices.Contains(codes, x.Code) {
				codes = append(codes, x.Code)
			}
		}
	}
	return strings.Join(codes, ",")
}

func readUsage(r Reader, k []byte) int64 {
	b := r.Get(k)
	if b == nil {
		return 0
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic(fmt.Errorf("usage %s is corrupt: %w", k, err))
	}
	return n
}
