package portal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (p *Portal) patientHome(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := p.loadRecords(r.Context(), s.ks, s.ident.ID, consent.Treatment)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your records: %s", errText(err))
		return
	}
	v.DownloadFor = Prefix + "patient/records/"
	p.render(w, r, http.StatusOK, "patient", s, pageData{Title: "My records", Data: patientHomeView{Records: v,
		Emergency: p.banner(r.Context(), s.ks, s.ident.ID), Recalls: p.recallBanner(r.Context(), v.Packs)}})
}

type patientHomeView struct {
	Records   recordsView
	Emergency *emergencyBanner // nil: nothing new
	Recalls   *recallBanner    // nil: no dispensed pack is recalled or suspect
}

func (p *Portal) patientDownload(w http.ResponseWriter, r *http.Request, s *session) {
	p.download(w, r, s, s.ident.ID, consent.Treatment)
}

// grantRow is a grant as the patient sees it.
type grantRow struct {
	*consent.Grant
	GranteeName string
	Status      string
	Categories  string
}

type consentsView struct {
	Grants     []grantRow
	Query      string
	Matches    []*identity.Identity
	Categories []string
	Purposes   []string
	Searched   bool
}

func grantStatus(g *consent.Grant, now time.Time) string {
	switch {
	case g.RevokedAt != 0:
		return "revoked"
	case !g.Expiry.IsZero() && !now.Before(g.Expiry):
		return "expired"
	case now.Before(g.Start):
		return "not yet active"
	}
	return "active"
}

func (p *Portal) consentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderConsents(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderConsents(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	ctx := r.Context()
	grants, err := p.cl.As(s.ks).Grants(ctx, s.ident.ID)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your consents: %s", errText(err))
		return
	}
	ids, err := p.cl.As(s.ks).Identities(ctx, "")
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load identities: %s", errText(err))
		return
	}
	names := map[string]string{}
	for _, i := range ids {
		names[i.ID] = i.Name + orgSuffix(i.Organization)
	}
	v := consentsView{Purposes: consent.Purposes, Query: strings.TrimSpace(r.FormValue("q"))}
	now := time.Now()
	for i := len(grants) - 1; i >= 0; i-- { // newest first
		g := grants[i]
		row := grantRow{Grant: g, GranteeName: names[g.Grantee], Status: grantStatus(g, now), Categories: strings.Join(g.Scope.Categories, ", ")}
		if g.Grantee == "" {
			row.GranteeName = "every provider of " + g.Organization
		}
		if row.Categories == "" {
			row.Categories = "all"
		}
		v.Grants = append(v.Grants, row)
	}
	if cks, err := p.cl.CategoryKeys(ctx, s.ident.ID); err == nil {
		for _, k := range cks {
			v.Categories = append(v.Categories, k.Category)
		}
	}
	if v.Query != "" {
		v.Searched = true
		q := strings.ToLower(v.Query)
		for _, i := range ids {
			if (i.Role != identity.Provider && i.Role != identity.Insurer) || !i.Active {
				continue
			}
			if strings.Contains(strings.ToLower(i.Name), q) || strings.Contains(strings.ToLower(i.Organization), q) || strings.HasPrefix(i.ID, q) {
				v.Matches = append(v.Matches, i)
			}
		}
	}
	p.render(w, r, status, "consents", s, pageData{Title: "Consents", Error: msg, Data: v})
}

func orgSuffix(org string) string {
	if org == "" {
		return ""
	}
	return ", " + org
}

// grant issues a consent from the form: grantee, categories, purposes, read (and optionally
// write), and an expiry in days. The key shares are made here with the patient's keys.
func (p *Portal) grant(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	g := consent.Grant{Grantee: f.Get("grantee"), Scope: consent.Scope{Categories: f["category"]}, Purposes: f["purpose"], Actions: []string{consent.Read}}
	if f.Get("write") == "on" {
		g.Actions = append(g.Actions, consent.Write)
	}
	if !keys.ValidID(g.Grantee) {
		p.renderConsents(w, r, s, http.StatusBadRequest, "Choose whom to grant access to (search for a provider first).")
		return
	}
	if len(g.Scope.Categories) == 0 {
		p.renderConsents(w, r, s, http.StatusBadRequest, "Choose at least one category of records.")
		return
	}
	if len(g.Purposes) == 0 || slices.ContainsFunc(g.Purposes, func(x string) bool { return !slices.Contains(consent.Purposes, x) }) {
		p.renderConsents(w, r, s, http.StatusBadRequest, "Choose at least one purpose.")
		return
	}
	if d := strings.TrimSpace(f.Get("days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3660 {
			p.renderConsents(w, r, s, http.StatusBadRequest, "Expiry must be a number of days between 1 and 3660, or empty for none.")
			return
		}
		g.Expiry = time.Now().Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Second)
	}
	id, err := p.cl.Grant(r.Context(), s.ks, g)
	if err != nil {
		p.renderConsents(w, r, s, http.StatusBadRequest, "The ledger refused the grant: "+errText(err))
		return
	}
	s.flash = "Granted (" + id + ")."
	redirect(w, r, Prefix+"patient/consents")
}

// revoke revokes a grant. It asks for the passphrase again: revoking rotates category keys,
// so the keystore file must be rewritten, and the portal keeps no passphrase in memory.
func (p *Portal) revoke(w http.ResponseWriter, r *http.Request, s *session) {
	gid := r.PathValue("grant")
	data, err := p.keys.Load(s.name)
	if err != nil {
		p.renderConsents(w, r, s, http.StatusInternalServerError, "Cannot load your keystore: "+err.Error())
		return
	}
	fresh, err := keys.Decrypt(data, []byte(r.PostFormValue("passphrase")))
	if err != nil || fresh.ID != s.ident.ID {
		p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "passphrase", Remote: remoteAddr(r), Reason: "wrong passphrase to confirm a revocation"})
		p.renderConsents(w, r, s, http.StatusUnauthorized, "Wrong passphrase: the grant was not revoked.")
		return
	}
	if err := p.cl.Revoke(r.Context(), fresh, gid); err != nil {
		(&session{ks: fresh}).wipe()
		p.renderConsents(w, r, s, http.StatusBadRequest, "The ledger refused the revocation: "+errText(err))
		return
	}
	// The ledger now holds the new category key's public half: the keystore must keep the
	// private half, or records written from now on could not be opened by their patient.
	sealed, err := keys.Encrypt(fresh, []byte(r.PostFormValue("passphrase")), p.kdf())
	if err == nil {
		err = p.keys.Replace(s.name, sealed)
	}
	if err != nil {
		p.cfg.Logf("portal: revocation of %s committed but keystore %s not saved: %v", gid, s.name, err)
		p.renderConsents(w, r, s, http.StatusInternalServerError, "Revoked, but your keystore could not be saved: "+err.Error()+". Keep this session open and ask your administrator.")
		s.ks = fresh
		return
	}
	old := &session{ks: s.ks}
	s.ks = fresh
	old.wipe()
	s.flash = "Revoked " + gid + "; the category keys it shared were rotated."
	// Break-glass escrows hold the old key versions: escrow the new ones too, as `ehrchain
	// consent revoke` does, or records written from now on are out of reach in an emergency.
	if again, err := p.cl.ReEscrow(r.Context(), fresh); err != nil {
		s.flash += " The new keys could not be escrowed for emergencies: " + errText(err) + "."
	} else if len(again) > 0 {
		s.flash += " Escrowed again for emergencies: " + strings.Join(again, ", ") + "."
	}
	redirect(w, r, Prefix+"patient/consents")
}

// accessRow is one access to the patient's data by someone else.
type accessRow struct {
	*audit.Event
	ActorName string
}

type accessView struct {
	Rows        []accessRow
	Disclosures int
	Denied      int
}

// accessPage shows who read or listed the patient's records, from the ledger's audit trail
// (a signed audit query as the patient: the node answers only events about them).
func (p *Portal) accessPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	var evs []*audit.Event
	err := p.cl.AuditQueryAll(ctx, s.ks, audit.Filter{Patient: s.ident.ID, Action: "record.*", Limit: audit.MaxLimit}, func(pg *wire.AuditQueryResponse) error {
		evs = append(evs, pg.Events...)
		return nil
	})
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot query the audit trail: %s", errText(err))
		return
	}
	names := p.names(ctx, s.ks)
	var v accessView
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Actor == s.ident.ID || (e.Action != audit.RecordRead && e.Action != audit.RecordList) {
			continue
		}
		if e.Outcome == audit.Denied {
			v.Denied++
		} else {
			v.Disclosures++
		}
		v.Rows = append(v.Rows, accessRow{Event: e, ActorName: names[e.Actor]})
	}
	p.render(w, r, http.StatusOK, "access", s, pageData{Title: "Who saw my data", Data: v})
}
