package fhir

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// A trial enrolment reads back as an R4 ResearchSubject, built from the ledger's
// enrolment, consent-form signatures and withdrawal (internal/trials); nothing is stored
// as a record, so the resource is read-only. Its id is the participant's dataset code,
// which names no identity; who sees which subjects, and by identity or by code, is
// trials.SubjectsVisible.
//
//	id, identifier          the dataset code (urn:ehrchain:trial-participant)
//	status                  on-study, or withdrawn once the participant withdrew
//	period                  enrolment time, to the withdrawal time
//	study                   identifier {urn:ehrchain:trial, trial id}, display the title
//	individual              Patient/<id> (identified) or the dataset code (pseudonymised)
//	assignedArm             the arm enrolled in
//	extension trial-consent site, the form signed, the form in force, the consent state
//	                        (consented, reconsent-needed, withdrawn), and each signature
const (
	SystemTrial            = "urn:ehrchain:trial"
	SystemTrialParticipant = "urn:ehrchain:trial-participant"
	extTrialConsent        = "urn:ehrchain:trial-consent"
)

// researchSubjectParams are the search parameters a ResearchSubject search takes.
var researchSubjectParams = []string{"study", "individual", "patient", "identifier", "status", "_id"}

// ResearchSubjectOf renders one enrolment of trial t (title: its ResearchStudy title) as a
// ResearchSubject; identified false leaves the participant's identity out.
func ResearchSubjectOf(t *trials.Trial, title string, e *trials.Enrolment, identified bool) Object {
	status, state := "on-study", "consented"
	switch {
	case e.Withdrawal != nil:
		status, state = "withdrawn", "withdrawn"
	case e.ConsentForm != t.ConsentForm:
		state = "reconsent-needed"
	}
	code := Object{"system": SystemTrialParticipant, "value": e.Code}
	individual := Object{"identifier": code, "display": "participant " + e.Code}
	if identified {
		individual = Object{"reference": "Patient/" + e.Participant}
	}
	period := Object{"start": stamp(e.Time)}
	updated := e.Time
	if e.Withdrawal != nil {
		period["end"] = stamp(e.Withdrawal.Time)
		updated = e.Withdrawal.Time
	}
	ext := []any{
		Object{"url": "site", "valueString": e.Site},
		Object{"url": "signed", "valueUnsignedInt": e.ConsentForm},
		Object{"url": "inForce", "valueUnsignedInt": t.ConsentForm},
		Object{"url": "state", "valueCode": state},
	}
	for _, c := range e.Consents {
		ext = append(ext, Object{"url": "signature", "extension": []any{
			Object{"url": "form", "valueUnsignedInt": c.Form},
			Object{"url": "time", "valueDateTime": stamp(c.Time)}}})
		if c.Time.After(updated) {
			updated = c.Time
		}
	}
	study := Object{"identifier": Object{"system": SystemTrial, "value": t.ID}}
	if title != "" {
		study["display"] = title
	}
	return Object{"resourceType": "ResearchSubject", "id": e.Code,
		"meta":        Object{"lastUpdated": stamp(updated)},
		"extension":   []any{Object{"url": extTrialConsent, "extension": ext}},
		"identifier":  []any{code},
		"status":      status,
		"period":      period,
		"study":       study,
		"individual":  individual,
		"assignedArm": e.Arm}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// subjectQuery is a parsed ResearchSubject search.
type subjectQuery struct {
	study, patient, code, status string
	ids                          []string
}

func parseSubjectQuery(q map[string][]string) (*subjectQuery, error) {
	bad := func(format string, args ...any) error {
		return fail(http.StatusBadRequest, "not-supported", format, args...)
	}
	var out subjectQuery
	for k, vs := range q {
		if !slices.Contains(researchSubjectParams, k) {
			if k == "_format" {
				continue
			}
			return nil, bad("search parameter %q is not supported for ResearchSubject (use %s)", k, strings.Join(researchSubjectParams, ", "))
		}
		if len(vs) != 1 || vs[0] == "" {
			return nil, bad("%s: give one non-empty value", k)
		}
		v := vs[0]
		switch k {
		case "study":
			v = strings.TrimPrefix(strings.TrimPrefix(v, "ResearchStudy/"), SystemTrial+"|")
			out.study = v
		case "individual", "patient":
			v = strings.TrimPrefix(v, "Patient/")
			if out.patient != "" && out.patient != v {
				return nil, bad("individual and patient name different patients")
			}
			out.patient = v
		case "identifier":
			out.code = strings.TrimPrefix(v, SystemTrialParticipant+"|")
		case "status":
			out.status = v
		case "_id":
			out.ids = strings.Split(v, ",")
		}
	}
	return &out, nil
}

// subjects gathers the ResearchSubjects who may see that match q, in trial then key order.
func subjects(v *state.View, who *identity.Identity, q *subjectQuery) ([]Object, error) {
	if q.patient != "" && who.Role != identity.Auditor && q.patient != who.ID {
		return nil, fail(http.StatusForbidden, "forbidden", "only the participant themself, the IRB and the regulator (auditors) find ResearchSubjects by patient; the sponsor and investigators see participants by dataset code: search by identifier")
	}
	var out []Object
	visit := func(t *trials.Trial) {
		sv, ok := trials.SubjectsVisible(t, trials.GetVersion(v, t.ID, t.Head), who)
		if !ok {
			return
		}
		title := studyTitle(v, t)
		add := func(e *trials.Enrolment) {
			if e == nil || (q.patient != "" && e.Participant != q.patient) || (q.code != "" && e.Code != q.code) ||
				(len(q.ids) > 0 && !slices.Contains(q.ids, e.Code)) {
				return
			}
			o := ResearchSubjectOf(t, title, e, sv.Identified || e.Participant == who.ID)
			if q.status == "" || o["status"] == q.status {
				out = append(out, o)
			}
		}
		if !sv.All {
			add(trials.GetEnrolment(v, t.ID, sv.Own))
			return
		}
		if q.patient != "" {
			add(trials.GetEnrolment(v, t.ID, q.patient))
			return
		}
		p := trials.EnrolPrefix(t.ID)
		v.Iterate(p, func(k, _ []byte) bool {
			add(trials.GetEnrolment(v, t.ID, strings.TrimPrefix(string(k), string(p))))
			return true
		})
	}
	if q.study != "" {
		if t := trials.Get(v, q.study); t != nil {
			visit(t)
		}
		return out, nil
	}
	v.Iterate(trials.Prefix, func(k, _ []byte) bool {
		if t := trials.Get(v, strings.TrimPrefix(string(k), string(trials.Prefix))); t != nil {
			visit(t)
		}
		return true
	})
	return out, nil
}

// studyTitle is the title of the ResearchStudy in force, or "".
func studyTitle(v *state.View, t *trials.Trial) string {
	ver := trials.GetVersion(v, t.ID, t.Head)
	if ver == nil {
		return ""
	}
	var s struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(ver.ResearchStudy, &s) // the contract checked the shape; a non-string title is not shown
	return s.Title
}

// researchSubjectRoutes serves ResearchSubject search and refuses its create; these patterns
// are more specific than the gateway's {type} routes, so they take precedence. Read, update
// and delete by id go through the {type}/{id} handlers (isResearchSubject): a pattern of its
// own, ResearchSubject/{id}, would overlap {type}/_history with neither more specific, which
// the mux refuses.
func (g *Gateway) researchSubjectRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/ResearchSubject", g.authed(g.searchResearchSubjects))
	m.HandleFunc("POST "+Prefix+"/ResearchSubject", g.authed(researchSubjectReadOnly))
}

// isResearchSubject says whether a {type}/{id} request names a ResearchSubject.
func isResearchSubject(r *http.Request) bool { return r.PathValue("type") == "ResearchSubject" }

func researchSubjectReadOnly(w http.ResponseWriter, _ *http.Request, _ *session) {
	writeErr(w, fail(http.StatusMethodNotAllowed, "not-supported", "ResearchSubject is built from the trial ledger and read-only: enrol, re-consent and withdraw with the trial transactions (ehrchain trial enrol|reconsent|withdraw)"))
}

// caller is the session's identity as the ledger holds it now (a deactivation counts).
func (g *Gateway) caller(s *session) *identity.Identity {
	if who := identity.Get(g.b.View(), s.who.ID); who != nil {
		return who
	}
	return &identity.Identity{ID: s.who.ID} // not active: sees nothing
}

func (g *Gateway) searchResearchSubjects(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := parseSubjectQuery(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	hits, err := subjects(g.b.View(), g.caller(s), q)
	if err != nil {
		writeErr(w, err)
		return
	}
	entries := make([]any, 0, len(hits))
	for _, h := range hits {
		entries = append(entries, Object{"fullUrl": fullURL(r, "ResearchSubject", h["id"].(string)), "resource": h, "search": Object{"mode": "match"}})
	}
	b := Object{"resourceType": "Bundle", "type": "searchset", "total": len(hits),
		"link": []any{Object{"relation": "self", "url": strings.TrimSuffix(fullURL(r, "ResearchSubject", ""), "/") + "?" + r.URL.RawQuery}}}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	writeResource(w, http.StatusOK, b)
}

func (g *Gateway) readResearchSubject(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	hits, err := subjects(g.b.View(), g.caller(s), &subjectQuery{code: id})
	if err != nil {
		writeErr(w, err)
		return
	}
	if len(hits) != 1 {
		writeErr(w, fail(http.StatusNotFound, "not-found", "ResearchSubject/%s is not one you may see", id))
		return
	}
	writeResource(w, http.StatusOK, hits[0])
}

// researchSubjectCapability is the CapabilityStatement entry.
func researchSubjectCapability() Object {
	sps := []any{Object{"name": "study", "type": "reference", "documentation": "the trial id (or ResearchStudy/<id>, " + SystemTrial + "|<id>)"},
		Object{"name": "individual", "type": "reference"}, Object{"name": "patient", "type": "reference", "documentation": "participant, IRB and auditors only"},
		Object{"name": "identifier", "type": "token", "documentation": "the dataset code (" + SystemTrialParticipant + ")"},
		Object{"name": "status", "type": "token"}, Object{"name": "_id", "type": "token"}}
	return Object{"type": "ResearchSubject", "documentation": "Trial enrolments from the ledger (status, consent-form versions signed and in force, withdrawal); read-only. The participant sees their own, the IRB and auditors every participant by identity, the sponsor and site investigators by dataset code only.",
		"interaction": []any{Object{"code": "read"}, Object{"code": "search-type"}},
		"searchParam": sps}
}
