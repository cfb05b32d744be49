package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// myTrial is one trial a patient is enrolled in, as the participant sees it: what they
// signed, what is in force now, and whether they must re-consent before more is collected.
type myTrial struct {
	ID, Title       string
	Enrolment       *trials.Enrolment
	Signed, Force   *trials.ConsentForm // Signed: the newest form the participant signed
	ReconsentNeeded bool
}

// myTrials lists the trials the patient is enrolled in. Which trials a patient is in is
// not public: the enrolments are asked for signed as the patient, who sees only their own.
func (p *Portal) myTrials(ctx context.Context, s *session) ([]myTrial, error) {
	all, err := p.cl.Trials(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []myTrial
	for _, t := range all.Trials {
		enr, err := p.cl.As(s.ks).TrialEnrolments(ctx, t.ID, false)
		if err != nil {
			return nil, err
		}
		for _, e := range enr.Enrolments {
			if e.Participant != s.ident.ID {
				continue
			}
			forms, err := p.cl.TrialConsentForms(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			m := myTrial{ID: t.ID, Title: t.Title, Enrolment: e}
			for _, f := range forms.ConsentForms {
				if f.Number == e.ConsentForm {
					m.Signed = f
				}
				if f.Number == forms.InForce {
					m.Force = f
				}
			}
			m.ReconsentNeeded = e.Withdrawal == nil && forms.InForce != e.ConsentForm
			out = append(out, m)
		}
	}
	return out, nil
}

func (p *Portal) patientTrials(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderPatientTrials(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderPatientTrials(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	v, err := p.myTrials(r.Context(), s)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your trials: %s", errText(err))
		return
	}
	p.render(w, r, status, "patient-trials", s, pageData{Title: "My trials", Error: msg, Data: v})
}

// reconsent signs the consent form the page showed as in force (tx 86); the contract
// refuses it if a newer form came in between, so the patient never signs a form unseen.
func (p *Portal) reconsent(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	n, err := strconv.ParseUint(r.PostFormValue("form"), 10, 32)
	if err != nil || n == 0 {
		p.renderPatientTrials(w, r, s, http.StatusBadRequest, "No consent-form version was given.")
		return
	}
	if _, err := p.cl.Send(r.Context(), s.ks, &trials.ReconsentBody{Trial: id, ConsentForm: uint32(n)}); err != nil {
		p.renderPatientTrials(w, r, s, http.StatusBadRequest, "The ledger refused the re-consent: "+errText(err))
		return
	}
	s.flash = "You signed consent form version " + strconv.FormatUint(n, 10) + " of trial " + id + "."
	redirect(w, r, Prefix+"patient/trials")
}

// withdrawPage is the confirmation step before a withdrawal, which is final.
func (p *Portal) withdrawPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := p.myTrials(r.Context(), s)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your trials: %s", errText(err))
		return
	}
	for _, m := range v {
		if m.ID == r.PathValue("id") && m.Enrolment.Withdrawal == nil {
			p.render(w, r, http.StatusOK, "patient-withdraw", s, pageData{Title: "Withdraw from " + m.ID, Data: m})
			return
		}
	}
	p.fail(w, r, s, http.StatusNotFound, "You are not taking part in trial %s.", r.PathValue("id"))
}

// withdraw signs the withdrawal (tx 87) once the patient confirmed it.
func (p *Portal) withdraw(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != "yes" {
		p.renderPatientTrials(w, r, s, http.StatusBadRequest, "Tick the box to confirm that you withdraw; nothing was sent.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := p.cl.Send(r.Context(), s.ks, &trials.WithdrawBody{Trial: id, Reason: reason}); err != nil {
		p.renderPatientTrials(w, r, s, http.StatusBadRequest, "The ledger refused the withdrawal: "+errText(err))
		return
	}
	s.flash = "You withdrew from trial " + id + ": no further data may be recorded or used. Your grants stay until you revoke them (Consents)."
	redirect(w, r, Prefix+"patient/trials")
}
