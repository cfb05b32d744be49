package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// declView is an emergency (break-glass) declaration as the patient and the auditor see it:
// the declaration from ledger state, the record accesses made under it from the audit trail.
type declView struct {
	*emergency.Declaration
	ProviderName string
	PatientName  string
	ReviewerName string
	Active       bool   // the window is open at the last block's time
	State        string // auditreport.AwaitingJustification, AwaitingReview or Reviewed
	Released     []releasedCat
	Accesses     []*audit.Event // reads, lists and urgent writes under it, newest first
	Reads        int            // allowed record reads among them
	New, Changed bool           // not shown to the patient before; shown in another state
}

// releasedCat is a category whose key shares custodians released under a declaration.
type releasedCat struct {
	Category     string
	Institutions []string
}

func declState(d *emergency.Declaration) string {
	switch {
	case d.Review != nil:
		return auditreport.Reviewed
	case d.Justification != nil:
		return auditreport.AwaitingReview
	}
	return auditreport.AwaitingJustification
}

// declViews joins declarations with the record events that name them, newest declaration
// first. The events come from one signed audit query per declaration, as who (the patient
// sees events about them, an auditor all): the declaring provider's record events about
// the patient since the declaration, of which those naming it.
func (p *Portal) declViews(ctx context.Context, who *keys.Keystore, ds []*emergency.Declaration, names map[string]string) ([]declView, error) {
	var now time.Time
	if st, err := p.cl.Status(ctx); err == nil {
		now = st.BlockTime
	}
	inst := map[string]string{}
	if cs, err := p.cl.Custodians(ctx); err == nil {
		for _, c := range cs {
			inst[c.ID] = c.Institution
		}
	}
	byDecl := map[string][]*audit.Event{}
	for _, d := range ds {
		f := audit.Filter{Patient: d.Patient, Actor: d.Provider, Action: "record.*", From: d.Start, Limit: audit.MaxLimit}
		err := p.cl.AuditQueryAll(ctx, who, f, func(pg *wire.AuditQueryResponse) error {
			for _, e := range pg.Events {
				if e.Emergency == d.ID {
					byDecl[d.ID] = append(byDecl[d.ID], e)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Reverse(byDecl[d.ID])
	}
	out := make([]declView, 0, len(ds))
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		v := declView{Declaration: d, ProviderName: names[d.Provider], PatientName: names[d.Patient], Active: !now.IsZero() && d.Active(now),
			State: declState(d), Accesses: byDecl[d.ID]}
		if d.Review != nil {
			v.ReviewerName = names[d.Review.Auditor]
		}
		for _, e := range v.Accesses {
			if e.Action == audit.RecordRead && e.Outcome == audit.Success {
				v.Reads++
			}
		}
		for _, r := range d.Releases {
			j := slices.IndexFunc(v.Released, func(c releasedCat) bool { return c.Category == r.Category })
			if j < 0 {
				v.Released = append(v.Released, releasedCat{Category: r.Category})
				j = len(v.Released) - 1
			}
			name := inst[r.Custodian]
			if name == "" {
				name = r.Custodian
			}
			if !slices.Contains(v.Released[j].Institutions, name) {
				v.Released[j].Institutions = append(v.Released[j].Institutions, name)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// emergencyBanner is what the patient home says about declarations the patient has not
// been shown (or has been shown in an earlier state).
type emergencyBanner struct {
	New     []declView
	Changed int
	Error   string // the ledger could not be asked: the patient is told so, not left unaware
}

// banner compares the patient's declarations with what the portal has shown them.
func (p *Portal) banner(ctx context.Context, ks *keys.Keystore, patient string) *emergencyBanner {
	pe, err := p.cl.As(ks).PatientEmergency(ctx, patient)
	if err != nil {
		return &emergencyBanner{Error: errText(err)}
	}
	seen := p.seen.get(patient)
	b := &emergencyBanner{}
	names := map[string]string{}
	if len(pe.Declarations) > 0 {
		names = p.names(ctx, ks)
	}
	for i := len(pe.Declarations) - 1; i >= 0; i-- {
		d := pe.Declarations[i]
		st, ok := seen[d.ID]
		switch {
		case !ok:
			b.New = append(b.New, declView{Declaration: d, ProviderName: names[d.Provider]})
		case st != declState(d):
			b.Changed++
		}
	}
	if len(b.New) == 0 && b.Changed == 0 {
		return nil
	}
	return b
}

// optOutRow is one of the patient's categories and its break-glass status.
type optOutRow struct {
	Category string
	OptedOut bool
	Escrowed bool // a current escrow lets custodians release it in an emergency
}

type patientEmergencyView struct {
	Declarations []declView
	OptOuts      []optOutRow
}

// patientEmergency shows every emergency declaration made for the patient with what was read
// under it, its justification and review, and the patient's opt-outs. Showing it marks the
// declarations seen, which clears the banner on the patient home.
func (p *Portal) patientEmergency(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderPatientEmergency(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderPatientEmergency(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	ctx := r.Context()
	me := s.ident.ID
	pe, err := p.cl.As(s.ks).PatientEmergency(ctx, me)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load emergency access: %s", errText(err))
		return
	}
	decls, err := p.declViews(ctx, s.ks, pe.Declarations, p.names(ctx, s.ks))
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot query the audit trail: %s", errText(err))
		return
	}
	seen := p.seen.get(me)
	v := patientEmergencyView{Declarations: decls}
	shown := map[string]string{}
	for i := range v.Declarations {
		d := &v.Declarations[i]
		d.PatientName = "" // the patient is the reader
		st, ok := seen[d.ID]
		d.New, d.Changed = !ok, ok && st != d.State
		shown[d.ID] = d.State
	}
	v.OptOuts = optOutRows(p.patientCategories(ctx, me, pe), pe)
	if err := p.seen.mark(me, shown); err != nil {
		p.cfg.Logf("portal: cannot save which emergency declarations %s has seen: %v", me, err)
	}
	p.render(w, r, status, "emergency", s, pageData{Title: "Emergency access", Error: msg, Data: v})
}

// patientCategories is every category the patient has a key for or opted out.
func (p *Portal) patientCategories(ctx context.Context, patient string, pe *wire.PatientEmergency) []string {
	var cats []string
	if cks, err := p.cl.CategoryKeys(ctx, patient); err == nil {
		for _, k := range cks {
			cats = append(cats, k.Category)
		}
	}
	for _, c := range pe.OptedOut {
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return cats
}

func optOutRows(cats []string, pe *wire.PatientEmergency) []optOutRow {
	var out []optOutRow
	for _, c := range cats {
		out = append(out, optOutRow{Category: c, OptedOut: slices.Contains(pe.OptedOut, c), Escrowed: slices.Contains(pe.Visible, c)})
	}
	return out
}

// setOptOuts changes the patient's break-glass opt-outs to the categories ticked in the
// form. Like a revocation it asks for the passphrase again: it withdraws or renews key
// escrows, which should take more than a session left open on a shared screen. Categories
// opted back in are escrowed again with the threshold and custodians of the patient's most
// recent other escrow, if there is one.
func (p *Portal) setOptOuts(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	me := s.ident.ID
	pe, err := p.cl.As(s.ks).PatientEmergency(ctx, me)
	if err != nil {
		p.renderPatientEmergency(w, r, s, http.StatusBadGateway, "Cannot load your opt-outs: "+errText(err))
		return
	}
	cats := p.patientCategories(ctx, me, pe)
	want := r.PostForm["out"]
	for _, c := range want {
		if !slices.Contains(cats, c) {
			p.renderPatientEmergency(w, r, s, http.StatusBadRequest, "You have no records category "+c+": nothing was changed.")
			return
		}
	}
	data, err := p.keys.Load(s.name)
	if err != nil {
		p.renderPatientEmergency(w, r, s, http.StatusInternalServerError, "Cannot load your keystore: "+err.Error())
		return
	}
	fresh, err := keys.Decrypt(data, []byte(r.PostFormValue("passphrase")))
	if err != nil || fresh.ID != me {
		p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: me, Role: string(s.ident.Role), Method: "passphrase", Remote: remoteAddr(r), Reason: "wrong passphrase to confirm a break-glass opt-out change"})
		p.renderPatientEmergency(w, r, s, http.StatusUnauthorized, "Wrong passphrase: your opt-outs were not changed.")
		return
	}
	defer (&session{ks: fresh}).wipe()
	var out, in []string
	for _, c := range cats {
		was, now := slices.Contains(pe.OptedOut, c), slices.Contains(want, c)
		switch {
		case now && !was:
			out = append(out, c)
		case was && !now:
			in = append(in, c)
		}
	}
	if len(out) == 0 && len(in) == 0 {
		s.flash = "Nothing to change."
		redirect(w, r, Prefix+"patient/emergency")
		return
	}
	var done []string
	if len(out) > 0 {
		if err := p.cl.OptOut(ctx, fresh, out, false); err != nil {
			p.renderPatientEmergency(w, r, s, http.StatusBadRequest, "The ledger refused the opt-out: "+errText(err))
			return
		}
		done = append(done, "opted out of break-glass: "+strings.Join(out, ", "))
	}
	if len(in) > 0 {
		if err := p.cl.OptOut(ctx, fresh, in, true); err != nil {
			p.renderPatientEmergency(w, r, s, http.StatusBadRequest, capitalize(strings.Join(done, "; "))+". The ledger refused opting back in: "+errText(err))
			return
		}
		done = append(done, "opted back in: "+strings.Join(in, ", "))
		done = append(done, p.reEscrow(ctx, fresh, pe, in))
	}
	s.flash = capitalize(strings.Join(done, "; ")) + "."
	redirect(w, r, Prefix+"patient/emergency")
}

// reEscrow escrows categories opted back in (opting out withdrew their escrow) like the
// patient's most recent remaining escrow: same threshold, its custodians still active. It
// says what it did, for the patient.
func (p *Portal) reEscrow(ctx context.Context, patient *keys.Keystore, pe *wire.PatientEmergency, cats []string) string {
	var ref *emergency.Escrow
	for _, e := range pe.Escrows {
		if !slices.Contains(cats, e.Category) && (ref == nil || e.Height > ref.Height) {
			ref = e
		}
	}
	if ref == nil {
		return "they are not escrowed, so not reachable in an emergency until you escrow them (ehrchain emergency escrow)"
	}
	active, err := p.cl.Custodians(ctx)
	if err != nil {
		return "they could not be escrowed again: " + errText(err)
	}
	var ids []string
	for _, sh := range ref.Shares {
		if slices.ContainsFunc(active, func(c *emergency.Custodian) bool { return c.ID == sh.Custodian && c.Active }) {
			ids = append(ids, sh.Custodian)
		}
	}
	if err := p.cl.Escrow(ctx, patient, cats, ref.Threshold, ids); err != nil {
		return "they could not be escrowed again: " + errText(err)
	}
	return "escrowed again, " + itoa(int64(ref.Threshold)) + " of " + itoa(int64(len(ids))) + " custodians"
}
