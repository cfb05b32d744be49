package portal

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// sponsoredTrial is a trial as its sponsor sees it on the page: enrolment per site (counts,
// no participant), whether results are overdue, and the dataset exports on the ledger.
type sponsoredTrial struct {
	wire.TrialSummary
	Planned uint32
	Sites   []siteCount
	Exports []*trials.Export
}

// siteCount is one site's enrolment.
type siteCount struct {
	Name, Investigator                   string
	Enrolled, Withdrawn, ReconsentNeeded int
}

// sponsoredTrials lists the trials the signed-in provider sponsors. Enrolments are asked
// for signed as the sponsor (who may see them) and shown as counts per site.
func (p *Portal) sponsoredTrials(ctx context.Context, s *session, only string) ([]sponsoredTrial, error) {
	all, err := p.cl.Trials(ctx, false)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var out []sponsoredTrial
	for _, sum := range all.Trials {
		if sum.Sponsor != s.ident.ID || (only != "" && sum.ID != only) {
			continue
		}
		t, err := p.cl.Trial(ctx, sum.ID)
		if err != nil {
			return nil, err
		}
		st := sponsoredTrial{TrialSummary: sum, Exports: t.Exports}
		if v := inForce(t); v != nil {
			st.Planned = v.PlannedEnrolment
			for _, site := range v.Sites {
				st.Sites = append(st.Sites, siteCount{Name: site.Name, Investigator: p.identityName(ctx, names, site.Investigator)})
			}
		}
		enr, err := p.cl.As(s.ks).TrialEnrolments(ctx, sum.ID, false)
		if err != nil {
			return nil, err
		}
		for _, e := range enr.Enrolments {
			i := slices.IndexFunc(st.Sites, func(c siteCount) bool { return c.Name == e.Site })
			if i < 0 { // a site an amendment dropped: still counted
				st.Sites = append(st.Sites, siteCount{Name: e.Site, Investigator: p.identityName(ctx, names, e.Investigator)})
				i = len(st.Sites) - 1
			}
			c := &st.Sites[i]
			c.Enrolled++
			switch {
			case e.Withdrawal != nil:
				c.Withdrawn++
			case e.ConsentForm != t.Trial.ConsentForm:
				c.ReconsentNeeded++
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// identityName is an identity's name on the ledger (cached in names), or its id.
func (p *Portal) identityName(ctx context.Context, names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n := id
	if resp, err := p.cl.Identity(ctx, id, false); err == nil && resp.Identity.Name != "" {
		n = resp.Identity.Name
	}
	names[id] = n
	return n
}

func (p *Portal) sponsorTrials(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderSponsorTrials(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderSponsorTrials(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	v, err := p.sponsoredTrials(r.Context(), s, "")
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your trials: %s", errText(err))
		return
	}
	p.render(w, r, status, "provider-sponsored", s, pageData{Title: "Sponsored trials", Error: msg, Data: v})
}

// sponsorExport exports the pseudonymised dataset the sponsor may read now, as `ehrchain
// trial export` does: the dataset's digest is checked, the export event (tx 89) is signed,
// and only once it is committed is the file sent, so every file handed out is on the ledger.
func (p *Portal) sponsorExport(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if v, err := p.sponsoredTrials(r.Context(), s, id); err != nil || len(v) == 0 {
		p.renderSponsorTrials(w, r, s, http.StatusNotFound, fmt.Sprintf("You do not sponsor trial %s.", id))
		return
	}
	ds, err := p.cl.As(s.ks).TrialDataset(r.Context(), id)
	if err != nil {
		p.renderSponsorTrials(w, r, s, http.StatusBadGateway, "Cannot build the dataset: "+errText(err))
		return
	}
	file := ds.Dataset.Encode()
	if got := trials.DatasetDigest(file); got != ds.Digest {
		p.renderSponsorTrials(w, r, s, http.StatusBadGateway, fmt.Sprintf("The dataset received hashes to %s, the node says %s: nothing was exported.", got, ds.Digest))
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "dataset export"
	}
	b := &trials.ExportBody{Trial: id, AsOf: ds.Height, Dataset: ds.Digest, Participants: ds.Dataset.Participants,
		Records: ds.Dataset.Records, Sign: trials.Sign{Meaning: trials.Author, Reason: reason}}
	res, err := p.cl.Send(r.Context(), s.ks, b)
	if err != nil {
		p.renderSponsorTrials(w, r, s, http.StatusForbidden, "The ledger refused the export: "+errText(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("trial-%s-dataset-%d.json", id, ds.Height)))
	w.Header().Set("X-Dataset-SHA256", ds.Digest)
	w.Header().Set("X-Export-Height", itoa(res.Height))
	bytes.NewReader(file).WriteTo(w)
}
