package auditreport

import (
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// Recipient is who received a disclosure.
type Recipient struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Role         string `json:"role,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// Disclosure is one access to a patient's records by someone other than the patient that the
// ledger allowed.
type Disclosure struct {
	Event        uint64    `json:"event"`
	Height       int64     `json:"height"`
	Tx           string    `json:"tx,omitempty"`
	Time         time.Time `json:"time"`
	Recipient    Recipient `json:"recipient"`
	Action       string    `json:"action"`           // record.read, or record.list (the list of records)
	Record       string    `json:"record,omitempty"` // empty for a list
	Version      uint32    `json:"version,omitempty"`
	Category     string    `json:"category,omitempty"`
	ResourceType string    `json:"resource_type,omitempty"`
	Purpose      string    `json:"purpose"`
	Grant        string    `json:"grant,omitempty"`     // empty when the recipient is the record's author
	Basis        string    `json:"basis"`               // why the ledger allowed it
	Emergency    string    `json:"emergency,omitempty"` // the emergency declaration of a break-glass access
}

// Accounting is a HIPAA-style accounting of disclosures for one patient over [From, To).
// Unlike HIPAA's accounting it leaves nothing out: the ledger records every access, so
// disclosures for treatment, payment and operations are listed too.
type Accounting struct {
	Patient     string            `json:"patient"`
	PatientName string            `json:"patient_name,omitempty"`
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"`
	Generated   time.Time         `json:"generated,omitzero"`
	Disclosures []Disclosure      `json:"disclosures"`
	Names       map[string]string `json:"-"` // display names of identities, if known

	events []*audit.Event // the disclosure events, for the FHIR export
}

// reportPeriod resolves a report period: a zero to means up to and including the last event, a
// zero from means six years before to.
func reportPeriod(events []*audit.Event, from, to time.Time) (time.Time, time.Time) {
	if to.IsZero() {
		for _, e := range events {
			if t := e.Time.Add(time.Nanosecond); t.After(to) {
				to = t
			}
		}
	}
	if from.IsZero() && !to.IsZero() {
		from = to.AddDate(-DisclosurePeriod, 0, 0)
	}
	return from.UTC(), to.UTC()
}

func inReportPeriod(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

// inLogOrder returns the events in log order.
func inLogOrder(events []*audit.Event) []*audit.Event {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b *audit.Event) int { return cmp.Compare(a.Index, b.Index) })
	return evs
}

// AccountingOfDisclosures lists, in log order, every allowed read or list of the patient's
// records by someone other than the patient whose block time falls in [from, to). Denied
// attempts disclose nothing and are not listed. A zero from means six years before to; a
// zero to means through the last event.
func AccountingOfDisclosures(events []*audit.Event, patient string, from, to time.Time) *Accounting {
	from, to = reportPeriod(events, from, to)
	a := &Accounting{Patient: patient, From: from, To: to, Disclosures: []Disclosure{}}
	for _, e := range inLogOrder(events) {
		if e.Patient != patient || e.Outcome != audit.Success || (e.Action != audit.RecordRead && e.Action != audit.RecordList) ||
			e.Actor == patient || !inReportPeriod(e.Time, from, to) {
			continue
		}
		a.events = append(a.events, e)
		a.Disclosures = append(a.Disclosures, Disclosure{
			Event: e.Index, Height: e.Height, Tx: e.Tx, Time: e.Time.UTC(),
			Recipient: Recipient{ID: e.Actor, Role: e.ActorRole, Organization: e.Organization},
			Action:    e.Action, Record: e.Record, Version: e.Version, Category: e.Category, ResourceType: e.ResourceType,
			Purpose: e.Purpose, Grant: e.Grant, Basis: e.Reason, Emergency: e.Emergency,
		})
	}
	return a
}

// SetNames attaches display names of identities (id -> name) to the report.
func (a *Accounting) SetNames(names map[string]string) {
	a.Names = names
	a.PatientName = names[a.Patient]
	for i := range a.Disclosures {
		a.Disclosures[i].Recipient.Name = names[a.Disclosures[i].Recipient.ID]
	}
}

// Count is one bucket of a tally.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// Day is the activity of one calendar day (in the rules' time zone).
type Day struct {
	Date    string `json:"date"` // YYYY-MM-DD
	Success int    `json:"success"`
	Denied  int    `json:"denied"`
}

// ActorActivity is what one actor did in the period.
type ActorActivity struct {
	Actor        string `json:"actor"`
	Name         string `json:"name,omitempty"`
	Role         string `json:"role,omitempty"`
	Organization string `json:"organization,omitempty"`
	Total        int    `json:"total"`
	Success      int    `json:"success"`
	Denied       int    `json:"denied"`
	Patients     int    `json:"patients"` // distinct patients whose records it touched
}

// GrantChange is a consent granted or revoked.
type GrantChange struct {
	Event        uint64    `json:"event"`
	Time         time.Time `json:"time"`
	Patient      string    `json:"patient"`
	Grant        string    `json:"grant"`
	Grantee      string    `json:"grantee,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Actions      string    `json:"actions,omitempty"`    // granted only
	Purposes     string    `json:"purposes,omitempty"`   // granted only
	Categories   string    `json:"categories,omitempty"` // granted: the scope; revoked: the keys rotated
}

// IdentityChange is an identity registered or deactivated.
type IdentityChange struct {
	Event        uint64    `json:"event"`
	Time         time.Time `json:"time"`
	ID           string    `json:"id"`
	Role         string    `json:"role,omitempty"`
	Organization string    `json:"organization,omitempty"`
	By           string    `json:"by"`
	Reason       string    `json:"reason,omitempty"` // deactivation only
}

// Compliance is the system-wide report for [From, To).
type Compliance struct {
	From              time.Time         `json:"from"`
	To                time.Time         `json:"to"`
	Generated         time.Time         `json:"generated,omitzero"`
	TimeZone          string            `json:"time_zone"` // of days and working hours
	Rules             RulesConfig       `json:"rules"`
	Events            int               `json:"events"`
	ByAction          []Count           `json:"by_action"`
	ByOutcome         []Count           `json:"by_outcome"`
	PerDay            []Day             `json:"per_day"`
	ByActor           []ActorActivity   `json:"by_actor"`
	Anomalies         []Anomaly         `json:"anomalies"`
	AnomalyEvents     []*audit.Event    `json:"anomaly_events"` // every event an anomaly cites, in log order
	GrantsIssued      []GrantChange     `json:"grants_issued"`
	GrantsRevoked     []GrantChange     `json:"grants_revoked"`
	IdentitiesAdded   []IdentityChange  `json:"identities_added"`
	IdentitiesRemoved []IdentityChange  `json:"identities_removed"`
	Emergencies       []EmergencyAccess `json:"emergencies"`        // break-glass declarations and their reviews
	BreakGlassDenied  []*audit.Event    `json:"break_glass_denied"` // emergency reads no declaration allowed
	Names             map[string]string `json:"-"`

	events []*audit.Event // the period's events, for the CSV event table and the FHIR export
}

// RulesConfig is Rules as written into a report.
type RulesConfig struct {
	RepeatedDenials int    `json:"repeated_denials"`
	DenialWindow    string `json:"denial_window"`
	ManyPatients    int    `json:"many_patients"`
	PatientWindow   string `json:"patient_window"`
	WorkStart       int    `json:"work_start"`
	WorkEnd         int    `json:"work_end"`
}

// actionOrder is the order in which volumes by action are listed.
var actionOrder = []string{audit.IdentityRegister, audit.IdentityDeactivate, audit.IdentityRotate, audit.KeysPublish, audit.ConsentGrant,
	audit.ConsentRevoke, audit.RecordWrite, audit.RecordAmend, audit.RecordRead, audit.RecordList, audit.PlanPublish, audit.CoverageEnroll, audit.CoverageEnd,
	audit.ClaimSubmit, audit.ClaimAdjudicate, audit.ClaimPay, audit.ClaimAppeal, audit.ClaimAppealDecide, audit.PriorAuthRequest, audit.PriorAuthDecide,
	audit.EmergencyCustodian, audit.EmergencyEscrow, audit.EmergencyOptOut, audit.EmergencyDeclare, audit.EmergencyRelease, audit.EmergencyJustify, audit.EmergencyReview}

// ComplianceReport summarises the events whose block time falls in [from, to) (a zero to:
// through the last event; a zero from: six years before to). Anomalies are detected over
// every event before to, so that an earlier deactivation or rotation still counts, and kept
// if their last triggering event falls in the period.
func ComplianceReport(events []*audit.Event, from, to time.Time, r Rules) *Compliance {
	from, to = reportPeriod(events, from, to)
	loc := r.loc()
	c := &Compliance{From: from, To: to, TimeZone: loc.String(), Rules: RulesConfig{
		RepeatedDenials: r.RepeatedDenials, DenialWindow: r.DenialWindow.String(), ManyPatients: r.ManyPatients,
		PatientWindow: r.PatientWindow.String(), WorkStart: r.WorkStart, WorkEnd: r.WorkEnd},
		ByAction: []Count{}, ByOutcome: []Count{}, PerDay: []Day{}, ByActor: []ActorActivity{}, Anomalies: []Anomaly{},
		AnomalyEvents: []*audit.Event{}, GrantsIssued: []GrantChange{}, GrantsRevoked: []GrantChange{},
		IdentitiesAdded: []IdentityChange{}, IdentitiesRemoved: []IdentityChange{}}

	all := inLogOrder(events)
	var before []*audit.Event
	roles := map[string][2]string{} // identity -> role, organization, from its registration
	for _, e := range all {
		if !e.Time.Before(to) {
			continue
		}
		before = append(before, e)
		if e.Action == audit.IdentityRegister && e.Outcome == audit.Success {
			roles[e.Subject] = [2]string{e.Reason, e.Organization}
		}
		if inReportPeriod(e.Time, from, to) {
			c.events = append(c.events, e)
		}
	}
	c.Events = len(c.events)

	byAction, byOutcome := map[string]int{}, map[string]int{}
	days := map[string]*Day{}
	actors := map[string]*ActorActivity{}
	patients := map[string]map[string]bool{}
	for _, e := range c.events {
		byAction[e.Action]++
		byOutcome[e.Outcome]++
		d := e.Time.In(loc).Format(time.DateOnly)
		if days[d] == nil {
			days[d] = &Day{Date: d}
		}
		act := actors[e.Actor]
		if act == nil {
			act = &ActorActivity{Actor: e.Actor, Role: e.ActorRole, Organization: roles[e.Actor][1]}
			actors[e.Actor] = act
			patients[e.Actor] = map[string]bool{}
		}
		if act.Organization == "" && isRecordAccess(e) {
			// Only record events carry the actor's own organization (a grant's or a
			// registration's is the grantee's or the new identity's).
			act.Organization = e.Organization
		}
		act.Total++
		if e.Outcome == audit.Denied {
			days[d].Denied++
			act.Denied++
		} else {
			days[d].Success++
			act.Success++
		}
		if isRecordAccess(e) && e.Patient != "" && e.Patient != e.Actor {
			patients[e.Actor][e.Patient] = true
		}
		switch e.Action {
		case audit.ConsentGrant:
			c.GrantsIssued = append(c.GrantsIssued, GrantChange{Event: e.Index, Time: e.Time.UTC(), Patient: e.Patient,
				Grant: e.Grant, Grantee: e.Subject, Organization: e.Organization, Actions: e.Reason, Purposes: e.Purpose, Categories: e.Category})
		case audit.ConsentRevoke:
			c.GrantsRevoked = append(c.GrantsRevoked, GrantChange{Event: e.Index, Time: e.Time.UTC(), Patient: e.Patient,
				Grant: e.Grant, Grantee: e.Subject, Organization: e.Organization, Categories: e.Category})
		case audit.IdentityRegister:
			c.IdentitiesAdded = append(c.IdentitiesAdded, IdentityChange{Event: e.Index, Time: e.Time.UTC(), ID: e.Subject,
				Role: e.Reason, Organization: e.Organization, By: e.Actor})
		case audit.IdentityDeactivate:
			ro := roles[e.Subject]
			c.IdentitiesRemoved = append(c.IdentitiesRemoved, IdentityChange{Event: e.Index, Time: e.Time.UTC(), ID: e.Subject,
				Role: ro[0], Organization: ro[1], By: e.Actor, Reason: e.Reason})
		}
	}

	c.Emergencies, c.BreakGlassDenied = EmergencyAccesses(c.events, nil)
	for _, a := range actionOrder {
		if byAction[a] > 0 {
			c.ByAction = append(c.ByAction, Count{a, byAction[a]})
			delete(byAction, a)
		}
	}
	for _, a := range reportKeys(byAction) { // actions this code does not know yet
		c.ByAction = append(c.ByAction, Count{a, byAction[a]})
	}
	for _, o := range []string{audit.Success, audit.Denied} {
		if byOutcome[o] > 0 {
			c.ByOutcome = append(c.ByOutcome, Count{o, byOutcome[o]})
			delete(byOutcome, o)
		}
	}
	for _, o := range reportKeys(byOutcome) {
		c.ByOutcome = append(c.ByOutcome, Count{o, byOutcome[o]})
	}
	if len(days) > 0 {
		// Every day from the first to the last active one, so gaps show in the chart.
		first, last := c.events[0].Time.In(loc), c.events[0].Time.In(loc)
		for _, e := range c.events {
			t := e.Time.In(loc)
			first, last = earlier(first, t), later(last, t)
		}
		y, m, dd := first.Date()
		for day := time.Date(y, m, dd, 0, 0, 0, 0, loc); !day.After(last); day = day.AddDate(0, 0, 1) {
			k := day.Format(time.DateOnly)
			if d := days[k]; d != nil {
				c.PerDay = append(c.PerDay, *d)
			} else {
				c.PerDay = append(c.PerDay, Day{Date: k})
			}
		}
	}
	for _, a := range reportKeys(actors) {
		act := actors[a]
		act.Patients = len(patients[a])
		c.ByActor = append(c.ByActor, *act)
	}
	slices.SortStableFunc(c.ByActor, func(a, b ActorActivity) int { return cmp.Compare(b.Total, a.Total) })

	cited := map[uint64]bool{}
	for _, an := range Detect(before, r) {
		if an.Last.Before(from) {
			continue
		}
		c.Anomalies = append(c.Anomalies, an)
		for _, i := range an.Events {
			cited[i] = true
		}
	}
	for _, e := range before {
		if cited[e.Index] {
			c.AnomalyEvents = append(c.AnomalyEvents, e)
		}
	}
	return c
}

// SetNames attaches display names of identities (id -> name) to the report.
func (c *Compliance) SetNames(names map[string]string) {
	c.Names = names
	for i := range c.Emergencies {
		c.Emergencies[i].ProviderName, c.Emergencies[i].PatientName = names[c.Emergencies[i].Provider], names[c.Emergencies[i].Patient]
	}
	for i := range c.ByActor {
		c.ByActor[i].Name = names[c.ByActor[i].Actor]
	}
}

// Event looks up an event of the report by log index (the period's events and the ones its
// anomalies cite).
func (c *Compliance) Event(index uint64) *audit.Event {
	for _, evs := range [][]*audit.Event{c.AnomalyEvents, c.events} {
		if i, ok := slices.BinarySearchFunc(evs, index, func(e *audit.Event, x uint64) int { return cmp.Compare(e.Index, x) }); ok {
			return evs[i]
		}
	}
	return nil
}

// PeriodEvents are the events of the report's period in log order.
func (c *Compliance) PeriodEvents() []*audit.Event { return c.events }

// DisclosureEvents are the events behind the accounting's disclosures, in log order.
func (a *Accounting) DisclosureEvents() []*audit.Event { return a.events }

func reportKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// displayName is how an identity is shown: its name if known, else a shortened id.
func displayName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return shortID(id)
}

// shortID abbreviates a 40-character identity id for charts and tables.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:8] + "…"
	}
	return id
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// WriteJSON writes the accounting as indented JSON.
func (a *Accounting) WriteJSON(w io.Writer) error { return writeReportJSON(w, a) }

// WriteJSON writes the compliance report as indented JSON.
func (c *Compliance) WriteJSON(w io.Writer) error { return writeReportJSON(w, c) }

func writeReportJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
