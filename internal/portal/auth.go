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

	"github.com/ehrchain/ehrchain/internal/keys"
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
// with the passphrase. The keystore then stays decrypted in this session's memory only.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	now := p.cfg.Now()
	name := strings.TrimSpace(r.PostFormValue("name"))
	pass := r.PostFormValue("passphrase")
	remote := remoteAddr(r)
	view := signInView{Name: name}
	refuse := func(status int, reason, msg string) {
		p.audit(SignInEvent{Event: evSignInFailed, Name: name, Method: "passphrase", Remote: remote, Reason: reason})
		p.render(w, r, status, "signin", nil, pageData{Title: "Sign in", Error: msg, Data: view})
	}
	for _, l := range []struct {
		lim *limiter
		key string
	}{{p.byName, "name:" + name}, {p.byRemote, "remote:" + remote}} {
		if locked, until := l.lim.locked(l.key, now); locked {
			p.audit(SignInEvent{Event: evLocked, Name: name, Remote: remote, Reason: "too many failed sign-ins"})
			p.render(w, r, http.StatusTooManyRequests, "signin", nil, pageData{Title: "Sign in", Data: view,
				Error: fmt.Sprintf("Too many failed sign-ins. Try again after %s.", until.UTC().Format("15:04:05 UTC"))})
			return
		}
	}
	failed := func() { p.byName.fail("name:"+name, now); p.byRemote.fail("remote:"+remote, now) }
	if name == "" || pass == "" {
		refuse(http.StatusBadRequest, "empty identity or passphrase", "Enter your identity and passphrase.")
		return
	}
	var ks *keys.Keystore
	data, err := p.keys.Load(name)
	if err == nil {
		ks, err = keys.Decrypt(data, []byte(pass))
	} else {
		keys.Decrypt(dummyKeystore(), []byte(pass))
		err = errors.New("no keystore of that name")
	}
	if err != nil {
		failed()
		refuse(http.StatusUnauthorized, "wrong passphrase or unknown identity", "Wrong identity or passphrase.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	resp, err := p.cl.Identity(ctx, ks.ID, false)
	switch {
	case err != nil:
		(&session{ks: ks}).wipe()
		refuse(http.StatusForbidden, "identity not registered", "This identity is not registered on the ledger.")
		return
	case !resp.Identity.Active:
		(&session{ks: ks}).wipe()
		refuse(http.StatusForbidden, "identity deactivated", "This identity has been deactivated.")
		return
	}
	s := &session{name: name, ks: ks, ident: resp.Identity, remote: remote, stage: stagePassphrase}
	p.setCookie(w, p.sess.create(s, now))
	if p.store.Get(ks.ID).Enrolled() {
		redirect(w, r, Prefix+"second-factor")
	} else {
		redirect(w, r, Prefix+"enrol")
	}
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
	err := p.store.Update(s.ident.ID, func(f *Factors) error {
		if f.TOTPSecret == "" {
			return errors.New("no authenticator app is enrolled for this identity")
		}
		step, err := checkTOTP(f.TOTPSecret, code, p.cfg.Now(), f.TOTPLastStep)
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
	now := p.cfg.Now()
	s.failures++
	p.byName.fail("name:"+s.name, now)
	p.byRemote.fail("remote:"+remoteAddr(r), now)
	p.audit(SignInEvent{Event: evSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: method, Remote: remoteAddr(r), Reason: err.Error()})
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
	p.setCookie(w, p.sess.promote(s, now))
	p.byName.reset("name:" + s.name)
	p.audit(SignInEvent{Event: evSignIn, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: method, Remote: remoteAddr(r)})
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
		k, err := newTOTPKey(s.name + " (" + s.ident.Name + ")")
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
	err := p.store.Update(s.ident.ID, func(f *Factors) error {
		if f.Enrolled() {
			return errors.New("a second factor was enrolled meanwhile: sign in with it")
		}
		step, err := checkTOTP(secret, strings.TrimSpace(r.PostFormValue("code")), p.cfg.Now(), 0)
		if err != nil {
			return err
		}
		f.TOTPSecret, f.TOTPLastStep = secret, step
		return nil
	})
	if err != nil {
		now := p.cfg.Now()
		s.failures++
		p.byName.fail("name:"+s.name, now)
		p.audit(SignInEvent{Event: evSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "totp-enrol", Remote: remoteAddr(r), Reason: err.Error()})
		if s.failures >= maxFactorTries {
			p.sess.end(s)
			toSignIn(w, r, "Too many wrong codes. Sign in again.")
			return
		}
		p.renderEnrol(w, r, s, http.StatusUnauthorized, capitalize(err.Error())+".")
		return
	}
	p.audit(SignInEvent{Event: evEnrolled, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "totp", Remote: remoteAddr(r)})
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
		p.audit(SignInEvent{Event: evSignOut, Name: s.name, ID: identID(s), Role: identRole(s), Remote: remoteAddr(r)})
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
