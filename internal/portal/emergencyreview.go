package portal

import (
	"cmp"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/emergency"
)

type auditorEmergencyView struct {
	Declarations []declView
	Detail       bool // one declaration, with its accesses and the review form
}

// auditorEmergencies lists every emergency declaration on the ledger with its
// justification, review state and the reads made under it.
func (p *Portal) auditorEmergencies(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderAuditorEmergency(w, r, s, http.StatusOK, "", "")
}

// auditorEmergency is one declaration with its accesses and the review form.
func (p *Portal) auditorEmergency(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderAuditorEmergency(w, r, s, http.StatusOK, r.PathValue("declaration"), "")
}

func (p *Portal) renderAuditorEmergency(w http.ResponseWriter, r *http.Request, s *session, status int, id, msg string) {
	ctx := r.Context()
	var ds []*emergency.Declaration
	if id == "" {
		all, err := p.cl.As(s.ks).Declarations(ctx, false)
		if err != nil {
			p.fail(w, r, s, http.StatusBadGateway, "Cannot load emergency declarations: %s", errText(err))
			return
		}
		ds = all
		// The API lists them in key order; the page shows the newest first.
		sortByHeight(ds)
	} else {
		if !validDeclID(id) {
			p.fail(w, r, s, http.StatusBadRequest, "%q is not an emergency declaration id.", id)
			return
		}
		d, err := p.cl.As(s.ks).Declaration(ctx, id)
		if err != nil {
			p.fail(w, r, s, http.StatusNotFound, "No emergency declaration %s: %s", id, errText(err))
			return
		}
		ds = []*emergency.Declaration{d.Declaration}
	}
	decls, err := p.declViews(ctx, s.ks, ds, p.names(ctx, s.ks))
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot query the audit trail: %s", errText(err))
		return
	}
	v := auditorEmergencyView{Declarations: decls, Detail: id != ""}
	title := "Emergency accesses"
	if id != "" {
		title = "Emergency access " + id
	}
	p.render(w, r, status, "auditor-emergency", s, pageData{Title: title, Error: msg, Data: v})
}

func sortByHeight(ds []*emergency.Declaration) {
	slices.SortStableFunc(ds, func(a, b *emergency.Declaration) int { return cmp.Compare(a.Height, b.Height) })
}

// validDeclID reports whether id has the form of a declaration id (emergency.DeclarationID).
func validDeclID(id string) bool {
	if len(id) != 18 || !strings.HasPrefix(id, "e-") {
		return false
	}
	_, err := hex.DecodeString(id[2:])
	return err == nil
}

// review records the auditor's verdict on a justified declaration: the same review
// transaction as `ehrchain emergency review`, signed with the auditor's session keys.
func (p *Portal) review(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("declaration")
	verdict, note := r.PostFormValue("verdict"), strings.TrimSpace(r.PostFormValue("note"))
	if !validDeclID(id) {
		p.fail(w, r, s, http.StatusBadRequest, "%q is not an emergency declaration id.", id)
		return
	}
	if verdict != emergency.Appropriate && verdict != emergency.Inappropriate {
		p.renderAuditorEmergency(w, r, s, http.StatusBadRequest, id, "Choose approve (appropriate) or flag (inappropriate).")
		return
	}
	if verdict == emergency.Inappropriate && note == "" {
		p.renderAuditorEmergency(w, r, s, http.StatusBadRequest, id, "Say why you flag this access: the comment is kept on the ledger with the verdict.")
		return
	}
	if err := p.cl.Review(r.Context(), s.ks, id, verdict, note); err != nil {
		p.renderAuditorEmergency(w, r, s, http.StatusBadRequest, id, "The ledger refused the review: "+errText(err))
		return
	}
	s.flash = "Review recorded: " + verdict + "."
	redirect(w, r, Prefix+"auditor/emergency/"+id)
}
