package auditreport

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// Code systems of the FHIR R4 AuditEvent export.
const (
	SystemDICOM      = "http://dicom.nema.org/resources/ontology/DCM"
	SystemRestful    = "http://hl7.org/fhir/restful-interaction"
	SystemActReason  = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	SystemObjectRole = "http://terminology.hl7.org/CodeSystem/object-role"
	SystemLifecycle  = "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle"
	SystemSourceType = "http://terminology.hl7.org/CodeSystem/security-source-type"
	SystemRoleType   = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	SystemResources  = "http://hl7.org/fhir/resource-types"
	SystemIdentity   = "urn:ehrchain:identity" // identifiers of ledger identities
	SystemRecord     = "urn:ehrchain:record"
	SystemGrant      = "urn:ehrchain:grant"
	SystemEmergency  = "urn:ehrchain:emergency" // emergency (break-glass) declarations
	SystemEvent      = "urn:ehrchain:event"     // the event's index in the ledger's audit log
)

// AuditEvent outcomes. A denied access is a minor failure (the request was refused and
// nothing was released). Serious failure ("8") is never used: a node fault or a rejected
// transaction does not reach the ledger.
const (
	fhirOutcomeOK    = "0"
	fhirOutcomeMinor = "4"
)

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditAgent is AuditEvent.agent.
type AuditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *Reference        `json:"who,omitempty"`
	Name      string            `json:"name,omitempty"`
	Requestor bool              `json:"requestor"`
	Policy    []string          `json:"policy,omitempty"`
}

// AuditSource is AuditEvent.source.
type AuditSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
}

// AuditDetail is AuditEvent.entity.detail.
type AuditDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// AuditEntity is AuditEvent.entity.
type AuditEntity struct {
	What        *Reference    `json:"what,omitempty"`
	Type        *Coding       `json:"type,omitempty"`
	Role        *Coding       `json:"role,omitempty"`
	Lifecycle   *Coding       `json:"lifecycle,omitempty"`
	Description string        `json:"description,omitempty"`
	Detail      []AuditDetail `json:"detail,omitempty"`
}

// AuditEvent is a FHIR R4 AuditEvent resource.
type AuditEvent struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
}

// BundleEntry is Bundle.entry.
type BundleEntry struct {
	FullURL  string      `json:"fullUrl"`
	Resource *AuditEvent `json:"resource"`
}

// Bundle is a FHIR R4 Bundle of type collection.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Identifier   *Identifier   `json:"identifier,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Entry        []BundleEntry `json:"entry"`
}

var (
	fhirTypePatientRecord    = Coding{SystemDICOM, "110110", "Patient Record"}
	fhirTypeSecurityAlert    = Coding{SystemDICOM, "110113", "Security Alert"}
	fhirSubUserAttributes    = Coding{SystemDICOM, "110137", "User Security Attributes Changed"}
	fhirSubObjectAttributes  = Coding{SystemDICOM, "110135", "Object Security Attributes Changed"}
	fhirSubEmergencyOverride = Coding{SystemDICOM, "110127", "Emergency Override Started"}
	fhirEntityPerson         = &Coding{SystemEntityType, "1", "Person"}
	fhirEntitySystemObject   = &Coding{SystemEntityType, "2", "System Object"}
	fhirRolePatient          = &Coding{SystemObjectRole, "1", "Patient"}
	fhirRoleDomainResource   = &Coding{SystemObjectRole, "4", "Domain Resource"}
	fhirRoleSecurityUser     = &Coding{SystemObjectRole, "11", "Security User Entity"}
	fhirRoleSecurityResource = &Coding{SystemObjectRole, "13", "Security Resource"}
	fhirRoleQuery            = &Coding{SystemObjectRole, "24", "Query"}
	fhirLifecycleCreate      = &Coding{SystemLifecycle, "1", "Origination / Creation"}
	fhirLifecycleAmend       = &Coding{SystemLifecycle, "3", "Amendment"}
	fhirLifecycleAccess      = &Coding{SystemLifecycle, "6", "Access / Use"}
	fhirSourceAppServer      = Coding{SystemSourceType, "4", "Application Server"}
	fhirAgentHuman           = &CodeableConcept{Coding: []Coding{{SystemRoleType, "humanuser", "human user"}}}
)

// fhirPurposeCodes maps purposes of use to HL7 v3 ActReason (PurposeOfUse) codes.
var fhirPurposeCodes = map[string]Coding{
	"treatment":  {SystemActReason, "TREAT", "treatment"},
	"payment":    {SystemActReason, "HPAYMT", "healthcare payment"},
	"operations": {SystemActReason, "HOPERAT", "healthcare operations"},
	"research":   {SystemActReason, "HRESCH", "healthcare research"},
	"emergency":  {SystemActReason, "ETREAT", "Emergency Treatment"},
}

func fhirRestful(code string) Coding { return Coding{SystemRestful, code, code} }

// FHIRAuditEvent converts one ledger event to a FHIR R4 AuditEvent. names (optional) gives
// display names of identities.
func FHIRAuditEvent(e *audit.Event, names map[string]string) *AuditEvent {
	ae := &AuditEvent{ResourceType: "AuditEvent", ID: "ehrchain-event-" + strconv.FormatUint(e.Index, 10),
		Recorded: e.Time.UTC().Format(time.RFC3339Nano), Outcome: fhirOutcomeOK, OutcomeDesc: e.Reason,
		Source: AuditSource{Site: "ehrchain", Observer: Reference{Display: "ehrchain ledger audit log",
			Identifier: &Identifier{System: SystemEvent, Value: strconv.FormatUint(e.Index, 10)}}, Type: []Coding{fhirSourceAppServer}}}
	if e.Outcome == audit.Denied {
		ae.Outcome = fhirOutcomeMinor
	}
	requestor := AuditAgent{Type: fhirAgentHuman, Requestor: true, Name: names[e.Actor],
		Who: &Reference{Identifier: &Identifier{System: SystemIdentity, Value: e.Actor}, Display: joinNonEmpty(", ", names[e.Actor], e.ActorRole, fhirActorOrg(e))}}
	if e.ActorRole != "" {
		requestor.Role = []CodeableConcept{{Text: e.ActorRole}}
	}
	if e.Grant != "" && (e.Action == audit.RecordRead || e.Action == audit.RecordList) {
		requestor.Policy = []string{SystemGrant + ":" + e.Grant}
	}
	ae.Agent = []AuditAgent{requestor}
	if e.Emergency != "" {
		requestor.Policy = append(requestor.Policy, SystemEmergency+":"+e.Emergency)
		ae.Agent[0] = requestor
	}
	if e.Action == audit.RecordRead || e.Action == audit.RecordList || e.Action == audit.RecordWrite || e.Action == audit.RecordAmend || e.Emergency != "" {
		if p, ok := fhirPurposeCodes[e.Purpose]; ok {
			ae.PurposeOfEvent = []CodeableConcept{{Coding: []Coding{p}}}
		} else if e.Purpose != "" {
			ae.PurposeOfEvent = []CodeableConcept{{Text: e.Purpose}}
		}
	}
	patient := func() {
		if e.Patient != "" {
			ae.Entity = append(ae.Entity, AuditEntity{What: &Reference{Identifier: &Identifier{System: SystemIdentity, Value: e.Patient},
				Display: names[e.Patient]}, Type: fhirEntityPerson, Role: fhirRolePatient})
		}
	}
	subject := func() {
		if e.Subject != "" {
			ae.Entity = append(ae.Entity, AuditEntity{What: &Reference{Identifier: &Identifier{System: SystemIdentity, Value: e.Subject},
				Display: names[e.Subject]}, Type: fhirEntityPerson, Role: fhirRoleSecurityUser})
		}
	}
	record := func(lc *Coding) {
		if e.Record == "" {
			return
		}
		ent := AuditEntity{What: &Reference{Identifier: &Identifier{System: SystemRecord, Value: e.Record},
			Display: joinNonEmpty(" ", e.ResourceType, e.Record)}, Type: fhirEntitySystemObject, Role: fhirRoleDomainResource, Lifecycle: lc}
		for _, d := range [][2]string{{"version", versionText(e.Version)}, {"category", e.Category}, {"resourceType", e.ResourceType}} {
			if d[1] != "" {
				ent.Detail = append(ent.Detail, AuditDetail{Type: d[0], ValueString: d[1]})
			}
		}
		ae.Entity = append(ae.Entity, ent)
	}
	grant := func() {
		ent := AuditEntity{What: &Reference{Identifier: &Identifier{System: SystemGrant, Value: e.Grant}},
			Type: &Coding{SystemResources, "Consent", "Consent"}, Role: fhirRoleSecurityResource}
		for _, d := range [][2]string{{"actions", e.Reason}, {"purposes", e.Purpose}, {"categories", e.Category}, {"organization", e.Organization}} {
			if d[1] != "" && !(e.Action == audit.ConsentRevoke && d[0] == "actions") {
				ent.Detail = append(ent.Detail, AuditDetail{Type: d[0], ValueString: d[1]})
			}
		}
		ae.Entity = append(ae.Entity, ent)
	}

	switch e.Action {
	case audit.RecordRead:
		ae.Type, ae.Subtype, ae.Action = fhirTypePatientRecord, []Coding{fhirRestful("read")}, "R"
		patient()
		record(fhirLifecycleAccess)
	case audit.RecordList:
		ae.Type, ae.Subtype, ae.Action = fhirTypePatientRecord, []Coding{fhirRestful("search")}, "E"
		patient()
		ae.Entity = append(ae.Entity, AuditEntity{Type: fhirEntitySystemObject, Role: fhirRoleQuery, Description: "list of the patient's records"})
	case audit.RecordWrite:
		ae.Type, ae.Subtype, ae.Action = fhirTypePatientRecord, []Coding{fhirRestful("create")}, "C"
		patient()
		record(fhirLifecycleCreate)
	case audit.RecordAmend:
		ae.Type, ae.Subtype, ae.Action = fhirTypePatientRecord, []Coding{fhirRestful("update")}, "U"
		patient()
		record(fhirLifecycleAmend)
	case audit.IdentityRegister, audit.IdentityDeactivate, audit.IdentityRotate:
		ae.Type, ae.Subtype = fhirTypeSecurityAlert, []Coding{fhirSubUserAttributes}
		ae.Action = map[string]string{audit.IdentityRegister: "C", audit.IdentityDeactivate: "D", audit.IdentityRotate: "U"}[e.Action]
		subject()
	case audit.KeysPublish:
		ae.Type, ae.Subtype, ae.Action = fhirTypeSecurityAlert, []Coding{fhirSubObjectAttributes}, "C"
		patient()
	case audit.ConsentGrant, audit.ConsentRevoke:
		ae.Type, ae.Subtype, ae.Action = fhirTypeSecurityAlert, []Coding{fhirSubObjectAttributes}, "C"
		if e.Action == audit.ConsentRevoke {
			ae.Action = "U" // a revoked consent stays on the ledger, inactive
		}
		patient()
		grant()
		subject()
	case audit.EmergencyDeclare:
		ae.Type, ae.Action = fhirTypeSecurityAlert, "E"
		patient()
	default:
		ae.Type, ae.Action = Coding{SystemDICOM, "110100", "Application Activity"}, "E"
		patient()
	}
	if e.Emergency != "" && e.Outcome == audit.Success && (e.Action == audit.EmergencyDeclare || isRecordAccess(e)) {
		// Every break-glass use is loud: the declaration and each access made under it.
		ae.Subtype = append(ae.Subtype, fhirSubEmergencyOverride)
	}
	ae.Subtype = append(ae.Subtype, Coding{System: "urn:ehrchain:action", Code: e.Action, Display: e.Action})
	return ae
}

// fhirActorOrg is the actor's own organization when the event carries it.
func fhirActorOrg(e *audit.Event) string {
	switch e.Action {
	case audit.RecordRead, audit.RecordList, audit.RecordWrite, audit.RecordAmend:
		return e.Organization
	}
	return ""
}

// FHIRBundle wraps events as a FHIR R4 Bundle (type collection) of AuditEvent resources.
// generated is the bundle's timestamp (zero: none); the rest is a pure function of events.
func FHIRBundle(events []*audit.Event, names map[string]string, id string, generated time.Time) *Bundle {
	b := &Bundle{ResourceType: "Bundle", ID: id, Type: "collection", Entry: []BundleEntry{}}
	if !generated.IsZero() {
		b.Timestamp = generated.UTC().Format(time.RFC3339Nano)
	}
	for _, e := range inLogOrder(events) {
		b.Entry = append(b.Entry, BundleEntry{FullURL: fhirEventUUID(e), Resource: FHIRAuditEvent(e, names)})
	}
	return b
}

// fhirEventUUID is a stable urn:uuid for an event (a name-based UUID over its log index and
// transaction), so exporting twice gives the same full URLs.
func fhirEventUUID(e *audit.Event) string {
	h := sha256.Sum256(fmt.Appendf(nil, "ehrchain/event/%d/%s/%d", e.Index, e.Tx, e.Height))
	h[6] = h[6]&0x0f | 0x50 // version 5 layout (name-based)
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// WriteFHIR writes the disclosures as a FHIR R4 Bundle of AuditEvents.
func (a *Accounting) WriteFHIR(w io.Writer) error {
	return writeReportJSON(w, FHIRBundle(a.events, a.Names, "disclosures-"+fhirBundleID(a.Patient), a.Generated))
}

// WriteFHIR writes every event of the period as a FHIR R4 Bundle of AuditEvents.
func (c *Compliance) WriteFHIR(w io.Writer) error {
	return writeReportJSON(w, FHIRBundle(c.events, c.Names, "compliance-"+c.From.Format("20060102")+"-"+c.To.Format("20060102"), c.Generated))
}

// fhirBundleID keeps an id within FHIR's [A-Za-z0-9-.]{1,64}.
func fhirBundleID(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
	return s[:min(len(s), 48)]
}
