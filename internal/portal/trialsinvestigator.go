package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// investigatorTrial is a trial where the signed-in provider leads a site of the protocol
// version in force (the contract's test for who may enrol and record).
type investigatorTrial struct {
	ID, Title string
	Sites     []string // the sites this investigator leads
	Arms      []trials.Arm
	Force     *trials.ConsentForm // nil: no consent form yet, nobody can be enrolled
	Rows      []participantRow
}

// participantRow is an enrolment as its investigator sees it.
type participantRow struct {
	*trials.Enrolment
	Name            string
	ReconsentNeeded bool
}

// investigatorTrials lists the trials whose version in force names the provider as a
// site's investigator; with enrolments, it also loads each one's participants.
func (p *Portal) investigatorTrials(ctx context.Context, s *session, only string, enrolments bool) ([]investigatorTrial, error) {
	all, err := p.cl.Trials(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []investigatorTrial
	for _, sum := range all.Trials {
		if only != "" && sum.ID != only {
			continue
		}
		t, err := p.cl.Trial(ctx, sum.ID)
		if err != nil {
			return nil, err
		}
		v := inForce(t)
		if v == nil {
			continue
		}
		it := investigatorTrial{ID: sum.ID, Title: sum.Title, Arms: v.Arms}
		for _, site := range v.Sites {
			if site.Investigator == s.ident.ID {
				it.Sites = append(it.Sites, site.Name)
			}
		}
		if len(it.Sites) == 0 {
			continue
		}
		for _, f := range t.ConsentForms {
			if f.Number == t.Trial.ConsentForm {
				it.Force = f
			}
		}
		if enrolments {
			enr, err := p.cl.As(s.ks).TrialEnrolments(ctx, sum.ID, false)
			if err != nil {
				return nil, err
			}
			names := p.names(ctx, s.ks)
			for _, e := range enr.Enrolments {
				if !slices.Contains(it.Sites, e.Site) {
					continue
				}
				it.Rows = append(it.Rows, participantRow{Enrolment: e, Name: names[e.Participant], ReconsentNeeded: e.ConsentForm != t.Trial.ConsentForm})
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// inForce is the trial's newest protocol version (the one enrolment and recording are
// judged by), or nil.
func inForce(t *wire.TrialResponse) *trials.Version {
	for _, v := range t.Versions {
		if v.Number == t.Trial.Head {
			return v
		}
	}
	return nil
}

func (p *Portal) providerTrials(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := p.investigatorTrials(r.Context(), s, "", false)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load the trials: %s", errText(err))
		return
	}
	p.render(w, r, http.StatusOK, "provider-trials", s, pageData{Title: "My trials", Data: v})
}

func (p *Portal) providerTrial(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderProviderTrial(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderProviderTrial(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	id := r.PathValue("id")
	v, err := p.investigatorTrials(r.Context(), s, id, true)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load trial %s: %s", id, errText(err))
		return
	}
	if len(v) == 0 {
		p.fail(w, r, s, http.StatusNotFound, "You are not an investigator of trial %s.", id)
		return
	}
	p.render(w, r, status, "provider-trial", s, pageData{Title: "Trial " + id, Error: msg, Data: v[0]})
}

// trialEnrol enrols a patient with the consent form in force (tx 83). The contract checks
// the rest, and its refusal (no research grant, no form, wrong site) is shown as it is.
func (p *Portal) trialEnrol(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	form, _ := strconv.ParseUint(r.PostFormValue("form"), 10, 32)
	b := &trials.EnrolBody{Trial: id, Participant: strings.TrimSpace(r.PostFormValue("patient")), Site: r.PostFormValue("site"),
		Arm: r.PostFormValue("arm"), ConsentForm: uint32(form)}
	if b.Participant == "" {
		p.renderProviderTrial(w, r, s, http.StatusBadRequest, "Give the patient's identity id.")
		return
	}
	if _, err := p.cl.Send(r.Context(), s.ks, b); err != nil {
		msg := "The ledger refused the enrolment: " + errText(err)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Codespace == string(trials.Space) && ce.Code == trials.CodeNoResearchConsent {
			msg += ". The patient must first grant you write access for research, covering the consent form's categories (on their Consents page)."
		}
		p.renderProviderTrial(w, r, s, http.StatusForbidden, msg)
		return
	}
	s.flash = "Enrolled " + short(b.Participant) + " in arm " + b.Arm + " at " + b.Site + " with consent form version " + itoa(int64(form)) + "."
	redirect(w, r, Prefix+"provider/trials/"+id)
}

// trialObserve records a FHIR Observation for a participant (tx 88), encrypted for the
// patient like every record the portal writes.
func (p *Portal) trialObserve(w http.ResponseWriter, r *http.Request, s *session) {
	id, f := r.PathValue("id"), r.PostForm
	pid, what := f.Get("patient"), strings.TrimSpace(f.Get("what"))
	val, err := strconv.ParseFloat(strings.TrimSpace(f.Get("value")), 64)
	if what == "" || err != nil {
		p.renderProviderTrial(w, r, s, http.StatusBadRequest, "Give what was measured and a numeric value.")
		return
	}
	obs := map[string]any{
		"resourceType":      "Observation",
		"status":            "final",
		"code":              map[string]any{"text": what},
		"subject":           map[string]string{"reference": "Patient/" + pid},
		"effectiveDateTime": time.Now().UTC().Format(time.RFC3339),
		"performer":         []map[string]string{{"reference": "Practitioner/" + s.ident.ID, "display": s.ident.Name}},
		"valueQuantity":     map[string]any{"value": val, "unit": strings.TrimSpace(f.Get("unit"))},
	}
	if c := strings.TrimSpace(f.Get("loinc")); c != "" {
		obs["code"] = map[string]any{"text": what, "coding": []map[string]string{{"system": "http://loinc.org", "code": c, "display": what}}}
	}
	pt, _ := json.Marshal(obs)
	cat := f.Get("category")
	if cat == "" {
		cat = "general"
	}
	m, err := p.cl.TrialRecord(r.Context(), s.ks, id, client.NewRecord{Patient: pid, Category: cat, ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: pt})
	if err != nil {
		p.renderProviderTrial(w, r, s, http.StatusForbidden, "The ledger refused the observation: "+errText(err))
		return
	}
	s.flash = "Observation recorded (" + m.RecordID + ", encrypted, committed at height " + itoa(m.Height) + ")."
	redirect(w, r, Prefix+"provider/trials/"+id)
}
