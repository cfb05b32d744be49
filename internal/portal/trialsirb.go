package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// irbTrial is a trial whose registration names the signed-in auditor as its ethics
// committee, with what awaits its decision: the protocol version in force if it is not
// approved, a consent form if there is none, and a form approved under an earlier
// protocol version than the one in force (the amendment may call for a new form).
type irbTrial struct {
	ID, Title string
	Head      *trials.Version // the version in force
	Approved  uint32          // newest approved version (0: none)
	Pending   bool            // Head awaits approval
	Reviews   []*trials.Decision
	Decisions []*trials.Decision
	Forms     []*trials.ConsentForm
	Force     *trials.ConsentForm // nil: no consent form yet
	FormStale bool                // Force was approved under an earlier protocol version
	Enrolled  uint32
}

// irbTrials lists the trials the signed-in auditor is the IRB of (only the IRB the
// registration names may decide on a trial).
func (p *Portal) irbTrials(ctx context.Context, s *session) ([]irbTrial, error) {
	all, err := p.cl.Trials(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []irbTrial
	for _, sum := range all.Trials {
		if sum.IRB != s.ident.ID {
			continue
		}
		t, err := p.cl.Trial(ctx, sum.ID)
		if err != nil {
			return nil, err
		}
		it := irbTrial{ID: sum.ID, Title: sum.Title, Head: inForce(t), Approved: t.Trial.Approved, Pending: t.Trial.Approved != t.Trial.Head,
			Decisions: t.Decisions, Forms: t.ConsentForms, Enrolled: t.Trial.Enrolled}
		for _, d := range t.Decisions {
			if d.Version == t.Trial.Head && d.Signature.Meaning == trials.Review {
				it.Reviews = append(it.Reviews, d)
			}
		}
		for _, f := range t.ConsentForms {
			if f.Number == t.Trial.ConsentForm {
				it.Force = f
			}
		}
		it.FormStale = it.Force != nil && it.Force.Protocol < t.Trial.Head
		out = append(out, it)
	}
	return out, nil
}

func (p *Portal) irbPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderIRB(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderIRB(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	v, err := p.irbTrials(r.Context(), s)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load the trials: %s", errText(err))
		return
	}
	p.render(w, r, status, "auditor-irb", s, pageData{Title: "Ethics review", Error: msg, Data: v})
}

// irbDecide signs the IRB's decision on the protocol version the page showed (tx 81):
// meaning approval or review, with a reason. The contract refuses a superseded version,
// so a version amended in between is never approved unseen.
func (p *Portal) irbDecide(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	n, err := strconv.ParseUint(r.PostFormValue("version"), 10, 32)
	meaning := trials.Meaning(r.PostFormValue("meaning"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	switch {
	case err != nil || n == 0:
		p.renderIRB(w, r, s, http.StatusBadRequest, "No protocol version was given.")
		return
	case meaning != trials.Approval && meaning != trials.Review:
		p.renderIRB(w, r, s, http.StatusBadRequest, "Choose what the signature means: approval or review.")
		return
	case reason == "":
		p.renderIRB(w, r, s, http.StatusBadRequest, "Give the reason for the decision: it is recorded with the signature.")
		return
	}
	if _, err := p.cl.Send(r.Context(), s.ks, &trials.ApproveBody{Trial: id, Version: uint32(n), Sign: trials.Sign{Meaning: meaning, Reason: reason}}); err != nil {
		p.renderIRB(w, r, s, http.StatusForbidden, "The ledger refused the decision: "+errText(err))
		return
	}
	s.flash = "Signed (" + string(meaning) + ") protocol version " + strconv.FormatUint(n, 10) + " of trial " + id + "."
	redirect(w, r, Prefix+"auditor/irb")
}

// irbConsentForm approves a consent-form version (tx 85): the portal hashes the uploaded
// document, so what the ledger holds is the digest of the very file the IRB read.
func (p *Portal) irbConsentForm(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	f, _, err := r.FormFile("document")
	if err != nil {
		p.renderIRB(w, r, s, http.StatusBadRequest, "Choose the consent document to approve.")
		return
	}
	defer f.Close()
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(f, maxUpload+1)); err != nil || n == 0 || n > maxUpload {
		p.renderIRB(w, r, s, http.StatusBadRequest, "The consent document is empty or larger than 16 MiB.")
		return
	}
	var cats []string
	for _, c := range strings.Split(r.PostFormValue("categories"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			cats = append(cats, c)
		}
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		p.renderIRB(w, r, s, http.StatusBadRequest, "Give the reason for the approval: it is recorded with the signature.")
		return
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if _, err := p.cl.Send(r.Context(), s.ks, &trials.ConsentFormBody{Trial: id, Digest: digest, Categories: cats,
		Sign: trials.Sign{Meaning: trials.Approval, Reason: reason}}); err != nil {
		p.renderIRB(w, r, s, http.StatusForbidden, "The ledger refused the consent form: "+errText(err))
		return
	}
	s.flash = "Approved a new consent form for trial " + id + " (SHA-256 " + digest + "): participants must sign it before more data is recorded."
	redirect(w, r, Prefix+"auditor/irb")
}
