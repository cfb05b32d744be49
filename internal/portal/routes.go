package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/signin"
)

func (p *Portal) routes() {
	m := p.mux
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/portal/static/", http.FileServerFS(static))
	m.HandleFunc("GET /portal/static/{file}", func(w http.ResponseWriter, r *http.Request) { files.ServeHTTP(w, r) }) // files only, no listing
	m.HandleFunc("GET /portal/{$}", p.index)
	m.HandleFunc("GET /portal/signin", p.signInPage)
	m.HandleFunc("POST /portal/signin", p.signIn)
	m.HandleFunc("GET /portal/second-factor", p.pending(p.secondFactorPage))
	m.HandleFunc("POST /portal/second-factor/totp", p.pending(p.secondFactorTOTP))
	m.HandleFunc("POST /portal/passkey/login/begin", p.pending(p.passkeyLoginBegin))
	m.HandleFunc("POST /portal/passkey/login/finish", p.pending(p.passkeyLoginFinish))
	m.HandleFunc("GET /portal/enrol", p.pending(p.enrolPage))
	m.HandleFunc("POST /portal/enrol/totp", p.pending(p.enrolTOTP))
	m.HandleFunc("POST /portal/passkey/register/begin", p.any(p.passkeyRegisterBegin))
	m.HandleFunc("POST /portal/passkey/register/finish", p.any(p.passkeyRegisterFinish))
	m.HandleFunc("POST /portal/signout", p.signOut)
	m.HandleFunc("GET /portal/security", p.signedIn(p.securityPage))

	m.HandleFunc("GET /portal/patient", p.role(identity.Patient, p.patientHome))
	m.HandleFunc("GET /portal/patient/consents", p.role(identity.Patient, p.consentsPage))
	m.HandleFunc("POST /portal/patient/consents", p.role(identity.Patient, p.grant))
	m.HandleFunc("POST /portal/patient/consents/{grant}/revoke", p.role(identity.Patient, p.revoke))
	m.HandleFunc("GET /portal/patient/access", p.role(identity.Patient, p.accessPage))
	m.HandleFunc("GET /portal/patient/records/{record}", p.role(identity.Patient, p.patientDownload))
	m.HandleFunc("GET /portal/patient/emergency", p.role(identity.Patient, p.patientEmergency))
	m.HandleFunc("POST /portal/patient/emergency/optouts", p.role(identity.Patient, p.setOptOuts))
	m.HandleFunc("GET /portal/patient/trials", p.role(identity.Patient, p.patientTrials))
	m.HandleFunc("POST /portal/patient/trials/{id}/reconsent", p.role(identity.Patient, p.reconsent))
	m.HandleFunc("GET /portal/patient/trials/{id}/withdraw", p.role(identity.Patient, p.withdrawPage))
	m.HandleFunc("POST /portal/patient/trials/{id}/withdraw", p.role(identity.Patient, p.withdraw))

	m.HandleFunc("GET /portal/provider", p.role(identity.Provider, p.providerHome))
	m.HandleFunc("GET /portal/provider/patients/{patient}", p.role(identity.Provider, p.providerPatient))
	m.HandleFunc("POST /portal/provider/patients/{patient}/notes", p.role(identity.Provider, p.addNote))
	m.HandleFunc("POST /portal/provider/patients/{patient}/documents", p.role(identity.Provider, p.upload))
	m.HandleFunc("POST /portal/provider/patients/{patient}/emergency", p.role(identity.Provider, p.declare))
	m.HandleFunc("POST /portal/provider/patients/{patient}/emergency/{declaration}/justify", p.role(identity.Provider, p.justify))
	m.HandleFunc("GET /portal/provider/patients/{patient}/records/{record}", p.role(identity.Provider, p.providerDownload))
	m.HandleFunc("GET /portal/provider/trials", p.role(identity.Provider, p.providerTrials))
	m.HandleFunc("GET /portal/provider/trials/{id}", p.role(identity.Provider, p.providerTrial))
	m.HandleFunc("POST /portal/provider/trials/{id}/enrolments", p.role(identity.Provider, p.trialEnrol))
	m.HandleFunc("POST /portal/provider/trials/{id}/observations", p.role(identity.Provider, p.trialObserve))
	m.HandleFunc("GET /portal/provider/sponsored", p.role(identity.Provider, p.sponsorTrials))
	m.HandleFunc("POST /portal/provider/sponsored/{id}/exports", p.role(identity.Provider, p.sponsorExport))

	m.HandleFunc("GET /portal/auditor", p.role(identity.Auditor, p.auditorHome))
	m.HandleFunc("GET /portal/auditor/report", p.role(identity.Auditor, p.report))
	m.HandleFunc("GET /portal/auditor/emergency", p.role(identity.Auditor, p.auditorEmergencies))
	m.HandleFunc("GET /portal/auditor/trials", p.role(identity.Auditor, p.auditorTrials))
	m.HandleFunc("GET /portal/auditor/trials/{id}/report", p.role(identity.Auditor, p.auditorTrialReport))
	m.HandleFunc("GET /portal/auditor/irb", p.role(identity.Auditor, p.irbPage))
	m.HandleFunc("POST /portal/auditor/irb/{id}/decisions", p.role(identity.Auditor, p.irbDecide))
	m.HandleFunc("POST /portal/auditor/irb/{id}/consent-forms", p.role(identity.Auditor, p.irbConsentForm))
	m.HandleFunc("GET /portal/auditor/emergency/{declaration}", p.role(identity.Auditor, p.auditorEmergency))
	m.HandleFunc("POST /portal/auditor/emergency/{declaration}/review", p.role(identity.Auditor, p.review))

	p.routeVerify() // public: no sign-in (verify.go)

	m.HandleFunc("/portal/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusNotFound, "error", nil, pageData{Title: "Not found", Error: "There is no such page."})
	})
}

// pageData is what every page template gets.
type pageData struct {
	Title  string
	Name   string // signed-in identity's display name
	Role   string
	CSRF   string
	Flash  string
	Error  string
	Nav    []navItem
	Active string
	Data   any
}

type navItem struct{ Href, Label string }

func navFor(role identity.Role) []navItem {
	switch role {
	case identity.Patient:
		return []navItem{{Prefix + "patient", "My records"}, {Prefix + "patient/consents", "Consents"}, {Prefix + "patient/access", "Who saw my data"}, {Prefix + "patient/emergency", "Emergency access"}, {Prefix + "patient/trials", "My trials"}, {Prefix + "security", "Sign-in security"}}
	case identity.Provider:
		return []navItem{{Prefix + "provider", "My patients"}, {Prefix + "provider/trials", "My trials"}, {Prefix + "provider/sponsored", "Sponsored trials"}, {Prefix + "security", "Sign-in security"}}
	case identity.Auditor:
		return []navItem{{Prefix + "auditor", "Dashboard"}, {Prefix + "auditor/emergency", "Emergency accesses"}, {Prefix + "auditor/trials", "Clinical trials"}, {Prefix + "auditor/irb", "Ethics review"}, {Prefix + "security", "Sign-in security"}}
	}
	return []navItem{{Prefix + "security", "Sign-in security"}}
}

// render executes a page into a buffer first, so a template error never leaves half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, d pageData) {
	if s != nil {
		d.CSRF = s.csrf
		if s.stage == stageSignedIn && s.ident != nil {
			d.Name, d.Role, d.Nav = s.ident.Name, string(s.ident.Role), navFor(s.ident.Role)
			if d.Name == "" {
				d.Name = s.name // a patient has no name on the ledger; show the keystore's
			}
		}
		if d.Flash == "" {
			d.Flash, s.flash = s.flash, ""
		}
	}
	d.Active = r.URL.Path
	var b bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&b, "layout", d); err != nil {
		p.cfg.Logf("portal: render %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	b.WriteTo(w)
}

func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *session, status int, format string, args ...any) {
	p.render(w, r, status, "error", s, pageData{Title: http.StatusText(status), Error: fmt.Sprintf(format, args...)})
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// toSignIn sends the browser to the sign-in page with a reason it shows.
func toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	clearCookie(w)
	redirect(w, r, Prefix+"signin?m="+url.QueryEscape(why))
}

func (p *Portal) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, Secure: p.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// session finds the request's session and locks it (the caller unlocks s.mu), logging and
// reporting an expired one.
func (p *Portal) session(w http.ResponseWriter, r *http.Request) (*session, bool) {
	s, expired := p.sess.lookup(r, p.cfg.Now())
	if expired {
		p.audit(signin.Event{Event: signin.EvExpired, Name: s.name, ID: identID(s), Role: identRole(s), Remote: remoteAddr(r)})
		toSignIn(w, r, "Your session expired. Sign in again.")
		return nil, false
	}
	if s == nil {
		toSignIn(w, r, "Sign in first.")
		return nil, false
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	}
	if r.Method == http.MethodPost && !s.checkCSRF(r) {
		p.fail(w, r, s, http.StatusForbidden, "This form is stale or did not come from this portal. Go back, reload and try again.")
		s.mu.Unlock()
		return nil, false
	}
	return s, true
}

type handler func(w http.ResponseWriter, r *http.Request, s *session)

// pending admits a session between the passphrase and the second factor.
func (p *Portal) pending(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.session(w, r)
		if !ok {
			return
		}
		defer s.mu.Unlock()
		if p.lockedOut(s) {
			// Failures elsewhere (other half-finished sign-ins) locked the identity: this
			// session may not go on guessing.
			p.sess.end(s)
			toSignIn(w, r, "Too many failed sign-ins. Try again later.")
			return
		}
		if s.stage == stageSignedIn {
			redirect(w, r, homeFor(s.ident.Role))
			return
		}
		h(w, r, s)
	}
}

// any admits any session (used by passkey registration, which runs at enrolment and later).
func (p *Portal) any(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s, ok := p.session(w, r); ok {
			defer s.mu.Unlock()
			h(w, r, s)
		}
	}
}

// signedIn admits a session that passed both factors.
func (p *Portal) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.session(w, r)
		if !ok {
			return
		}
		defer s.mu.Unlock()
		if s.stage != stageSignedIn {
			redirect(w, r, Prefix+"second-factor")
			return
		}
		// A deactivation on the ledger ends the session at its next request.
		if resp, err := p.cl.Identity(r.Context(), s.ident.ID, false); err == nil && !resp.Identity.Active {
			p.audit(signin.Event{Event: signin.EvSignOut, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Remote: remoteAddr(r), Reason: "identity deactivated"})
			p.sess.end(s)
			toSignIn(w, r, "This identity has been deactivated.")
			return
		}
		h(w, r, s)
	}
}

// role admits only signed-in identities of one role. Anyone else is refused (403), and the
// attempt is logged: the page of another role is never served, whatever the URL.
func (p *Portal) role(want identity.Role, h handler) http.HandlerFunc {
	return p.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		if s.ident.Role != want {
			p.audit(signin.Event{Event: signin.EvAccessRefused, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Remote: remoteAddr(r), Reason: r.Method + " " + r.URL.Path})
			p.fail(w, r, s, http.StatusForbidden, "This page is for %ss; you are signed in as a %s.", want, s.ident.Role)
			return
		}
		h(w, r, s)
	})
}

func (p *Portal) index(w http.ResponseWriter, r *http.Request) {
	s, expired := p.sess.lookup(r, p.cfg.Now())
	if s != nil && !expired {
		defer s.mu.Unlock()
	}
	switch {
	case s == nil || s.ks == nil:
		redirect(w, r, Prefix+"signin")
	case s.stage == stageSignedIn:
		redirect(w, r, homeFor(s.ident.Role))
	default:
		redirect(w, r, Prefix+"second-factor")
	}
}

var funcs = template.FuncMap{
	"short": func(id string) string {
		if len(id) > 10 {
			return id[:10] + "…"
		}
		return id
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"unix": func(sec int64) string {
		if sec == 0 {
			return ""
		}
		return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04 UTC")
	},
	"join":  strings.Join,
	"stamp": func(t time.Time) string { return t.UTC().Format("01-02 15:04:05") },
}
