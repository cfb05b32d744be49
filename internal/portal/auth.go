package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/signin"
)

type signInView struct {
	Message string
	Name    string
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "signin", nil, pageData{Title: "Sign in", Data: signInView{Message: r.URL.Query().Get("m")}})
}

// dummyKeystore is decrypted when a name has no keystore, so an unknown name takes as long
// to refuse as a wrong passphrase and does not reveal which names exist.
var dummyKeystore = sync.OnceValue(func() []byte {
	ks, err := keys.NewKeystore("dummy")
	if err != nil {
		return nil
	}
	b, _ := keys.Encrypt(ks, []byte(randomToken()), keys.DefaultKDF)
	return b
})

// signIn checks the first factor: the identity's keystore in the node's keys directory opens
// with the passphrase. The keystore then stays decrypted in this session's memory only. The
// node's sign-in policy is judged first, from what is known before the passphrase (the
// keystore's public part, the ledger, the failure runs shared with the FHIR login).
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	now := p.cfg.Now()
	name := strings.TrimSpace(r.PostFormValue("name"))
	pass := r.PostFormValue("passphrase")
	remote := remoteAddr(r)
	view := signInView{Name: name}
	refuse := func(status int, ev, id, reason, msg string) {
		p.audit(signin.Event{Event: ev, Name: name, ID: id, Method: "passphrase", Remote: remote, Reason: reason})
		p.render(w, r, status, "signin", nil, pageData{Title: "Sign in", Error: msg, Data: view})
	}
	if name == "" || pass == "" {
		refuse(http.StatusBadRequest, signin.EvSignInFailed, "", "empty identity or passphrase", "Enter your identity and passphrase.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var id string
	var ident *identity.Identity
	data, err := p.keys.Load(name)
	if err == nil {
		if info, err := keys.PublicInfo(data); err == nil {
			id = info.ID
		}
	}
	facts := signin.Facts{Entry: signin.Portal, Now: now}
	if id != "" {
		if resp, err := p.cl.Identity(ctx, id, false); err == nil {
			ident = resp.Identity
			facts.Known, facts.Active, facts.Role = true, ident.Active, string(ident.Role)
		}
	}
	facts.Identity, facts.Remote = p.si.Failures(id, name, remote)
	d := signin.Decide(facts, p.si.Limits())
	if d.Reason == signin.Locked {
		refuse(http.StatusTooManyRequests, signin.EvLocked, id, "too many failed sign-ins",
			fmt.Sprintf("Too many failed sign-ins. Try again after %s.", d.Until.UTC().Format("15:04:05 UTC")))
		return
	}
	var ks *keys.Keystore
	if id != "" {
		ks, err = keys.Decrypt(data, []byte(pass))
		if err == nil && ks.ID != id {
			(&session{ks: ks}).wipe()
			ks, err = nil, errors.New("the keystore's public part names another identity")
		}
	} else {
		keys.Decrypt(dummyKeystore(), []byte(pass))
		err = errors.New("no keystore of that name")
	}
	if err != nil {
		if ferr := p.si.Fail(id, name, remote, now); ferr != nil {
			p.cfg.Logf("portal: cannot record a failed sign-in: %v", ferr)
		}
		refuse(http.StatusUnauthorized, signin.EvSignInFailed, id, "wrong passphrase or unknown identity", "Wrong identity or passphrase.")
		return
	}
	if !d.Allowed {
		(&session{ks: ks}).wipe()
		msg := "This identity may not sign in here: " + d.Message() + "."
		switch d.Reason {
		case signin.Unknown:
			msg = "This identity is not registered on the ledger."
		case signin.Deactivated:
			msg = "This identity has been deactivated."
		}
		refuse(http.StatusForbidden, signin.EvSignInRefused, id, d.Reason.String(), msg)
		return
	}
	s := &session{name: name, ks: ks, ident: ident, remote: remote, stage: stagePassphrase}
	p.setCookie(w, p.sess.create(s, now))
	if p.store.Get(ks.ID).Enrolled() {
		redirect(w, r, Prefix+"second-factor")
	} else {
		redirect(w, r, Prefix+"enrol")
	}
}

// failed counts a wrong second factor of a half-signed-in session against its identity and
// client address, in the node's shared, persisted failure runs.
func (p *Portal) failed(s *session, r *http.Request) {
	if err := p.si.Fail(s.ident.ID, s.name, remoteAddr(r), p.cfg.Now()); err != nil {
		p.cfg.Logf("portal: cannot record a failed sign-in: %v", err)
	}
}

// lockedOut reports whether the session's identity is locked now (failures elsewhere, at the
// portal or the FHIR login, count too).
func (p *Portal) lockedOut(s *session) bool {
	f := signin.Facts{Entry: signin.Portal, Now: p.cfg.Now(), Known: true, Active: true}
	f.Identity, _ = p.si.Failures(identID(s), s.name, "")
	return signin.Decide(f, p.si.Limits()).Reason == signin.Locked
}

type secondFactorView struct {
	TOTP     bool
	Passkeys int
}

func (p *Portal) secondFactorPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderSecondFactor(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderSecondFactor(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	f := p.store.Get(s.ident.ID)
	if !f.Enrolled() {
		redirect(w, r, Prefix+"enrol")
		return
	}
	p.render(w, r, status, "second-factor", s, pageData{Title: "Second factor", Error: msg,
		Data: secondFactorView{TOTP: f.TOTPSecret != "", Passkeys: len(f.Passkeys)}})
}

func (p *Portal) secondFactorTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	err := p.store.Update(s.ident.ID, func(f *signin.Factors) error {
		if f.TOTPSecret == "" {
			return errors.New("no authenticator app is enrolled for this identity")
		}
		step, err := signin.CheckTOTP(f.TOTPSecret, code, p.cfg.Now(), f.TOTPLastStep)
		if err != nil {
			return err
		}
		f.TOTPLastStep = step
		return nil
	})
	if err != nil {
		p.secondFactorFailed(w, r, s, "totp", err)
		return
	}
	p.complete(w, r, s, "totp")
}

// maxFactorTries is how many wrong second factors one half-signed-in session may try.
const maxFactorTries = 3

// secondFactorFailed counts a wrong second factor; after maxFactorTries the session ends and
// the passphrase must be entered again.
func (p *Portal) secondFactorFailed(w http.ResponseWriter, r *http.Request, s *session, method string, err error) {
	s.failures++
	p.failed(s, r)
	p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: method, Remote: remoteAddr(r), Reason: err.Error()})
	if s.failures >= maxFactorTries {
		p.sess.end(s)
		toSignIn(w, r, "Too many wrong codes. Sign in again.")
		return
	}
	p.renderSecondFactor(w, r, s, http.StatusUnauthorized, capitalize(err.Error())+".")
}

// complete finishes a sign-in: the session gets a fresh token (the one issued before the second
// factor stops working) and the identity's failure count is cleared.
func (p *Portal) complete(w http.ResponseWriter, r *http.Request, s *session, method string) {
	now := p.cfg.Now()
	s.failures, s.enrolTOTP, s.wa = 0, nil, nil
	// Audit fails closed: a sign-in that cannot be logged does not complete.
	if err := p.audit(signin.Event{Event: signin.EvSignIn, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: method, Remote: remoteAddr(r)}); err != nil {
		p.sess.end(s)
		toSignIn(w, r, "This sign-in could not be recorded, so it was refused. Tell the node operator.")
		return
	}
	if err := p.si.Succeed(s.ident.ID); err != nil {
		p.cfg.Logf("portal: cannot clear the failed sign-ins of %s: %v", s.ident.ID, err)
	}
	p.setCookie(w, p.sess.promote(s, now))
	if r.Header.Get("Accept") == "application/json" {
		writeJSON(w, http.StatusOK, map[string]string{"next": homeFor(s.ident.Role)})
		return
	}
	redirect(w, r, homeFor(s.ident.Role))
}

type enrolView struct {
	QR      template.URL // a data: URI this package made
	Secret  string
	URL     string
	Account string
}

// enrolPage offers the first second factor. It is reachable only while the identity has
// none: once one is enrolled, adding another needs a full sign-in (the security page).
func (p *Portal) enrolPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderEnrol(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderEnrol(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	if p.store.Get(s.ident.ID).Enrolled() {
		redirect(w, r, Prefix+"second-factor")
		return
	}
	if s.enrolTOTP == nil {
		k, err := signin.NewTOTPKey(s.name + " (" + s.ident.Name + ")")
		if err != nil {
			p.fail(w, r, s, http.StatusInternalServerError, "cannot make a TOTP secret: %v", err)
			return
		}
		s.enrolTOTP = k
	}
	qr, err := qrDataURI(s.enrolTOTP)
	if err != nil {
		p.fail(w, r, s, http.StatusInternalServerError, "cannot draw the QR code: %v", err)
		return
	}
	p.render(w, r, status, "enrol", s, pageData{Title: "Set up a second factor", Error: msg,
		Data: enrolView{QR: template.URL(qr), Secret: s.enrolTOTP.Secret(), URL: s.enrolTOTP.URL(), Account: s.enrolTOTP.AccountName()}})
}

func (p *Portal) enrolTOTP(w http.ResponseWriter, r *http.Request, s *session) {
	if s.enrolTOTP == nil {
		redirect(w, r, Prefix+"enrol")
		return
	}
	secret := s.enrolTOTP.Secret()
	err := p.store.Update(s.ident.ID, func(f *signin.Factors) error {
		if f.Enrolled() {
			return errors.New("a second factor was enrolled meanwhile: sign in with it")
		}
		step, err := signin.CheckTOTP(secret, strings.TrimSpace(r.PostFormValue("code")), p.cfg.Now(), 0)
		if err != nil {
			return err
		}
		f.TOTPSecret, f.TOTPLastStep = secret, step
		return nil
	})
	if err != nil {
		s.failures++
		p.failed(s, r)
		p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "totp-enrol", Remote: remoteAddr(r), Reason: err.Error()})
		if s.failures >= maxFactorTries {
			p.sess.end(s)
			toSignIn(w, r, "Too many wrong codes. Sign in again.")
			return
		}
		p.renderEnrol(w, r, s, http.StatusUnauthorized, capitalize(err.Error())+".")
		return
	}
	p.audit(signin.Event{Event: signin.EvEnrolled, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "totp", Remote: remoteAddr(r)})
	p.complete(w, r, s, "totp")
}

func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	s, expired := p.sess.lookup(r, p.cfg.Now())
	if s != nil && !expired {
		defer s.mu.Unlock()
		if !s.checkCSRF(r) {
			p.fail(w, r, s, http.StatusForbidden, "This form is stale. Reload and try again.")
			return
		}
		p.audit(signin.Event{Event: signin.EvSignOut, Name: s.name, ID: identID(s), Role: identRole(s), Remote: remoteAddr(r)})
		p.sess.end(s)
	}
	toSignIn(w, r, "You are signed out.")
}

type securityView struct {
	TOTP     bool
	Passkeys int
	ID       string
	Keystore string
}

func (p *Portal) securityPage(w http.ResponseWriter, r *http.Request, s *session) {
	f := p.store.Get(s.ident.ID)
	v := securityView{ID: s.ident.ID, Keystore: s.name}
	if f != nil {
		v.TOTP, v.Passkeys = f.TOTPSecret != "", len(f.Passkeys)
	}
	p.render(w, r, http.StatusOK, "security", s, pageData{Title: "Sign-in security", Data: v})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
