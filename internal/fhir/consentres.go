package fhir

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// A FHIR Consent posted by a patient becomes a grant; grants read back as Consents.
// The mapping (R4 Consent, one permit provision with nested deny provisions):
//
//	provision.actor.reference       Practitioner|Organization/<identity id> -> grantee, or
//	                                identifier {urn:ehrchain:organization, name} -> organization
//	provision.action                access, use, disclose -> read; correct, collect -> write
//	provision.purpose               v3 ActReason TREAT, HPAYMT, HOPERAT, HRESCH, ETREAT
//	provision.period                start, expiry
//	provision.class                 resource types (http://hl7.org/fhir/resource-types)
//	provision.securityLabel         categories (urn:ehrchain:category)
//	provision.data.reference        single records (Type/id)
//	provision.provision (type deny) deny provisions: class, securityLabel, data, purpose
const (
	SystemCategory     = "urn:ehrchain:category"
	SystemOrganization = "urn:ehrchain:organization"
	systemResourceType = "http://hl7.org/fhir/resource-types"
	systemActReason    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	systemConsentAct   = "http://terminology.hl7.org/CodeSystem/consentaction"
)

var purposeCodes = map[string]string{"TREAT": consent.Treatment, "HPAYMT": consent.Payment, "HOPERAT": consent.Operations,
	"HRESCH": consent.Research, "ETREAT": consent.Emergency}

func purposeCode(p string) string {
	for c, v := range purposeCodes {
		if v == p {
			return c
		}
	}
	return p
}

func codings(v any) []Object {
	var out []Object
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			out = append(out, codings(it)...)
		}
	case Object:
		if cs, ok := x["coding"].([]any); ok {
			out = append(out, codings(cs)...)
		} else if _, ok := x["code"]; ok {
			out = append(out, x)
		}
	}
	return out
}

// supportedProvision lists the provision elements the mapping understands; anything else
// is refused rather than silently dropped (a dropped restriction would widen access).
var supportedProvision = []string{"type", "period", "actor", "action", "purpose", "class", "securityLabel", "data", "provision", "id"}

func grantScope(p Object) (consent.Scope, []string, error) {
	var sc consent.Scope
	for _, c := range codings(p["class"]) {
		if c["system"] != systemResourceType {
			return sc, nil, fmt.Errorf("provision.class must use %s", systemResourceType)
		}
		sc.ResourceTypes = append(sc.ResourceTypes, c["code"].(string))
	}
	for _, c := range codings(p["securityLabel"]) {
		if c["system"] != SystemCategory {
			return sc, nil, fmt.Errorf("provision.securityLabel must use %s (categories)", SystemCategory)
		}
		sc.Categories = append(sc.Categories, c["code"].(string))
	}
	data, _ := p["data"].([]any)
	for _, d := range data {
		ref, _ := d.(Object)["reference"].(Object)
		s, _ := ref["reference"].(string)
		_, id, ok := strings.Cut(s, "/")
		if !ok {
			return sc, nil, fmt.Errorf("provision.data.reference must be Type/id")
		}
		sc.Records = append(sc.Records, id)
	}
	var purposes []string
	for _, c := range codings(p["purpose"]) {
		v, ok := purposeCodes[c["code"].(string)]
		if !ok {
			return sc, nil, fmt.Errorf("purpose %v is not supported (use TREAT, HPAYMT, HOPERAT, HRESCH or ETREAT)", c["code"])
		}
		purposes = append(purposes, v)
	}
	return sc, purposes, nil
}

func checkKeys(p Object, where string) error {
	for k := range p {
		if !slices.Contains(supportedProvision, k) {
			return fmt.Errorf("%s.%s is not supported by this server", where, k)
		}
	}
	return nil
}

// GrantFromConsent maps a Consent posted by patient to a grant.
func GrantFromConsent(v identity.Reader, patient string, o Object) (*consent.Grant, error) {
	if o["status"] != "active" {
		return nil, fmt.Errorf("only an active Consent can be granted (status %v)", o["status"])
	}
	if ref, ok := o["patient"].(Object); ok && ref["reference"] != "Patient/"+patient {
		return nil, fmt.Errorf("Consent.patient must be Patient/%s: a patient grants consent over their own records", patient)
	}
	p, _ := o["provision"].(Object)
	if p == nil {
		return nil, fmt.Errorf("Consent.provision is required: it says whom the grant is for")
	}
	if err := checkKeys(p, "provision"); err != nil {
		return nil, err
	}
	if t, ok := p["type"]; ok && t != "permit" {
		return nil, fmt.Errorf("the top provision must be a permit")
	}
	g := &consent.Grant{Patient: patient}
	actors, _ := p["actor"].([]any)
	if len(actors) != 1 {
		return nil, fmt.Errorf("provision.actor must name exactly one grantee (an identity or an organization)")
	}
	ref, _ := actors[0].(Object)["reference"].(Object)
	if idf, ok := ref["identifier"].(Object); ok && idf["system"] == SystemOrganization {
		g.Organization, _ = idf["value"].(string)
	} else {
		s, _ := ref["reference"].(string)
		_, id, _ := strings.Cut(s, "/")
		who := identity.Get(v, id)
		if who == nil {
			return nil, fmt.Errorf("provision.actor %q is not a registered identity", s)
		}
		g.Grantee = id
	}
	for _, c := range codings(p["action"]) {
		var a string
		switch c["code"] {
		case "access", "use", "disclose":
			a = consent.Read
		case "correct", "collect":
			a = consent.Write
		default:
			return nil, fmt.Errorf("action %v is not supported (access, use, disclose: read; correct, collect: write)", c["code"])
		}
		if !slices.Contains(g.Actions, a) {
			g.Actions = append(g.Actions, a)
		}
	}
	if len(g.Actions) == 0 {
		g.Actions = []string{consent.Read}
	}
	var err error
	if g.Scope, g.Purposes, err = grantScope(p); err != nil {
		return nil, err
	}
	if len(g.Purposes) == 0 {
		g.Purposes = []string{consent.Treatment}
	}
	if per, ok := p["period"].(Object); ok {
		if s, ok := per["start"].(string); ok {
			g.Start, _, _ = parseFHIRTime(s)
		}
		if e, ok := per["end"].(string); ok {
			_, g.Expiry, _ = parseFHIRTime(e)
		}
	}
	subs, _ := p["provision"].([]any)
	for i, x := range subs {
		sp, _ := x.(Object)
		where := fmt.Sprintf("provision.provision[%d]", i)
		if err := checkKeys(sp, where); err != nil {
			return nil, err
		}
		if sp["type"] != "deny" || sp["actor"] != nil || sp["action"] != nil || sp["period"] != nil || sp["provision"] != nil {
			return nil, fmt.Errorf("%s: only deny provisions limited by class, securityLabel, data and purpose are supported", where)
		}
		sc, ps, err := grantScope(sp)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		g.Deny = append(g.Deny, consent.Deny{Scope: sc, Purposes: ps})
	}
	return g, nil
}

func scopeFHIR(sc consent.Scope, p Object) {
	var class, labels, data []any
	for _, t := range sc.ResourceTypes {
		class = append(class, Object{"system": systemResourceType, "code": t})
	}
	for _, c := range sc.Categories {
		labels = append(labels, Object{"system": SystemCategory, "code": c})
	}
	for _, r := range sc.Records {
		data = append(data, Object{"meaning": "instance", "reference": Object{"reference": "Resource/" + r}})
	}
	if class != nil {
		p["class"] = class
	}
	if labels != nil {
		p["securityLabel"] = labels
	}
	if data != nil {
		p["data"] = data
	}
}

// ConsentFromGrant renders a grant as an R4 Consent; status is judged at time now.
func ConsentFromGrant(v identity.Reader, g *consent.Grant, now time.Time) Object {
	status := "active"
	if !g.Active(now) {
		status = "inactive"
	}
	p := Object{"type": "permit"}
	actor := Object{"role": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}}}
	if g.Grantee != "" {
		kind := "Practitioner"
		if who := identity.Get(v, g.Grantee); who != nil && who.Role != identity.Provider {
			kind = "Organization"
		}
		actor["reference"] = Object{"reference": kind + "/" + g.Grantee}
	} else {
		actor["reference"] = Object{"identifier": Object{"system": SystemOrganization, "value": g.Organization}}
	}
	p["actor"] = []any{actor}
	var actions, purposes []any
	for _, a := range g.Actions {
		code := "access"
		if a == consent.Write {
			code = "correct"
		}
		actions = append(actions, Object{"coding": []any{Object{"system": systemConsentAct, "code": code}}})
	}
	for _, pu := range g.Purposes {
		purposes = append(purposes, Object{"system": systemActReason, "code": purposeCode(pu)})
	}
	p["action"], p["purpose"] = actions, purposes
	per := Object{"start": g.Start.UTC().Format(time.RFC3339)}
	if !g.Expiry.IsZero() {
		per["end"] = g.Expiry.UTC().Format(time.RFC3339)
	}
	p["period"] = per
	scopeFHIR(g.Scope, p)
	var subs []any
	for _, d := range g.Deny {
		sp := Object{"type": "deny"}
		scopeFHIR(d.Scope, sp)
		var ps []any
		for _, pu := range d.Purposes {
			ps = append(ps, Object{"system": systemActReason, "code": purposeCode(pu)})
		}
		if ps != nil {
			sp["purpose"] = ps
		}
		subs = append(subs, sp)
	}
	if subs != nil {
		p["provision"] = subs
	}
	return Object{"resourceType": "Consent", "id": g.ID, "status": status,
		"scope":      Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":   []any{Object{"coding": []any{Object{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}}}},
		"patient":    Object{"reference": "Patient/" + g.Patient},
		"dateTime":   g.Start.UTC().Format(time.RFC3339),
		"policyRule": Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}},
		"provision":  p}
}

// maySeeGrant: the patient sees all their grants, a grantee those naming it (or its
// organization), an auditor every grant.
func maySeeGrant(who *identity.Identity, g *consent.Grant) bool {
	return who.ID == g.Patient || who.ID == g.Grantee || who.Role == identity.Auditor ||
		(g.Organization != "" && who.Role == identity.Provider && who.Organization == g.Organization)
}

func (g *Gateway) createConsent(w http.ResponseWriter, r *http.Request, s *session, o Object) {
	if s.who.Role != identity.Patient {
		writeErr(w, fail(http.StatusForbidden, "forbidden", "only the patient grants consent over their records"))
		return
	}
	gr, err := GrantFromConsent(g.b.View(), s.who.ID, o)
	if err != nil {
		writeErr(w, fail(http.StatusUnprocessableEntity, "business-rule", "%v", err))
		return
	}
	unlock := g.lockWriter(s.ks.ID)
	id, err := g.c.Grant(r.Context(), s.ks, *gr)
	unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	stored := consent.Get(g.b.View(), s.who.ID, id)
	if stored == nil {
		writeErr(w, fmt.Errorf("grant %s committed but not visible", id))
		return
	}
	w.Header().Set("Location", Prefix+"/Consent/"+id)
	writeResource(w, http.StatusCreated, ConsentFromGrant(g.b.View(), stored, g.Now()))
}

// grantByID finds a grant by id among every patient's (ids are unique per chain).
func (g *Gateway) grantByID(s *session, id string) (*consent.Grant, error) {
	v := g.b.View()
	candidates := []string{s.who.ID}
	if s.who.Role != identity.Patient {
		candidates = nil
		v.Iterate([]byte("grant/"), func(k, _ []byte) bool {
			parts := strings.Split(string(k), "/")
			if len(parts) == 3 && parts[2] == id {
				candidates = append(candidates, parts[1])
				return false
			}
			return true
		})
	}
	for _, p := range candidates {
		if gr := consent.Get(v, p, id); gr != nil && maySeeGrant(s.who, gr) {
			return gr, nil
		}
	}
	return nil, fail(http.StatusNotFound, "not-found", "Consent/%s is not one you may see", id)
}

func (g *Gateway) readConsent(w http.ResponseWriter, r *http.Request, s *session, id string) {
	gr, err := g.grantByID(s, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeResource(w, http.StatusOK, ConsentFromGrant(g.b.View(), gr, g.Now()))
}

func (g *Gateway) searchConsent(w http.ResponseWriter, r *http.Request, s *session, q *query) {
	patient := q.patient
	if patient == "" {
		patient = s.who.ID
	}
	var hits []Object
	for _, gr := range consent.List(g.b.View(), patient) {
		if maySeeGrant(s.who, gr) && (len(q.ids) == 0 || slices.Contains(q.ids, gr.ID)) {
			hits = append(hits, ConsentFromGrant(g.b.View(), gr, g.Now()))
		}
	}
	entries := make([]any, 0, len(hits))
	for _, h := range hits {
		entries = append(entries, Object{"fullUrl": fullURL(r, "Consent", h["id"].(string)), "resource": h, "search": Object{"mode": "match"}})
	}
	b := Object{"resourceType": "Bundle", "type": "searchset", "total": len(hits)}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	writeResource(w, http.StatusOK, b)
}

func (g *Gateway) revokeConsent(w http.ResponseWriter, r *http.Request, s *session, id string) {
	if s.who.Role != identity.Patient {
		writeErr(w, fail(http.StatusForbidden, "forbidden", "only the patient revokes their consent"))
		return
	}
	if s.pass == nil {
		writeErr(w, fail(http.StatusForbidden, "forbidden", "revoking rotates your category keys, which must be saved in your keystore: log in with your keystore (%s/auth/login) to revoke", Prefix))
		return
	}
	if err := g.revoke(r.Context(), s, id); err != nil {
		writeErr(w, err)
		return
	}
	writeOutcome(w, http.StatusOK, NewOutcome("information", "informational", "", "Consent/%s revoked; your category keys were rotated and saved", id))
}

func (g *Gateway) revoke(ctx context.Context, s *session, id string) error {
	defer g.lockWriter(s.ks.ID)()
	if err := g.c.Revoke(ctx, s.ks, id); err != nil {
		return err
	}
	data, err := keys.Encrypt(s.ks, s.pass, keys.DefaultKDF)
	if err != nil {
		return err
	}
	return g.auth.keyring.Replace(s.ks.Name, data)
}
