package portal

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/trials/trialpage"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// auditorTrials is the regulator's cross-trial view: each trial's violations by rule, with
// its verified transparency report as a download.
func (p *Portal) auditorTrials(w http.ResponseWriter, r *http.Request, s *session) {
	all, err := p.cl.TrialsReport(r.Context())
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load the trials: %s", errText(err))
		return
	}
	p.render(w, r, http.StatusOK, "auditor-trials", s, pageData{Title: "Clinical trials", Data: all})
}

// verifiedTrialReport fetches a trial's report and checks it against the app hash the
// node committed at the report's height (read from its status at that same height).
func (p *Portal) verifiedTrialReport(ctx context.Context, id string) (*wire.TrialReport, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		rep, err := p.cl.TrialReport(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		st, err := p.cl.Status(ctx)
		if err != nil {
			return nil, nil, err
		}
		if st.Height != rep.Height {
			continue // a block was made in between; ask again
		}
		h, err := hex.DecodeString(st.AppHash)
		if err != nil {
			return nil, nil, err
		}
		if err := rep.Verify(h); err != nil {
			return nil, nil, fmt.Errorf("the report does not verify against app hash %X: %w", h, err)
		}
		return rep, h, nil
	}
	return nil, nil, fmt.Errorf("the node's status never showed the report's height: %w", ctx.Err())
}

// auditorTrialReport downloads a trial's transparency report, its proofs verified first:
// html (the self-contained page with the timeline), fhir (the Bundle) or json (with every
// proof, for `ehrchain trial verify-report`).
func (p *Portal) auditorTrialReport(w http.ResponseWriter, r *http.Request, s *session) {
	format, id := r.URL.Query().Get("format"), r.PathValue("id")
	ext := map[string]string{"json": "json", "html": "html", "fhir": "fhir.json"}[format]
	ctype := map[string]string{"json": "application/json", "html": "text/html; charset=utf-8", "fhir": "application/fhir+json"}[format]
	if ext == "" {
		p.fail(w, r, s, http.StatusBadRequest, "Ask for format html, fhir or json.")
		return
	}
	rep, h, err := p.verifiedTrialReport(r.Context(), id)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "No verified report of trial %s: %s", id, errText(err))
		return
	}
	var b bytes.Buffer
	switch format {
	case "html":
		err = trialpage.WriteHTML(&b, rep.Report, fmt.Sprintf("%X", h), len(rep.Values))
	case "fhir":
		var raw []byte
		raw, err = trials.FHIRBundle(rep.Report)
		b.Write(raw)
	default:
		err = json.NewEncoder(&b).Encode(rep)
	}
	if err != nil {
		p.fail(w, r, s, http.StatusInternalServerError, "Cannot write the report: %s", err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "trial-"+id+"-report-"+fmt.Sprint(rep.Height)+"."+ext))
	b.WriteTo(w)
}
