package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ehrchain/ehrchain/internal/signin"
)

// waUser is an identity as WebAuthn sees it. The user handle is random (not the identity id),
// so an authenticator's stored data does not name the ledger identity.
type waUser struct {
	handle []byte
	name   string
	disp   string
	creds  []webauthn.Credential
}

func (u waUser) WebAuthnID() []byte                         { return u.handle }
func (u waUser) WebAuthnName() string                       { return u.name }
func (u waUser) WebAuthnDisplayName() string                { return u.disp }
func (u waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// relyingParty builds the WebAuthn relying party for this request. Passkeys are bound to the
// configured RP id (a host name); the origin is the one the browser used, accepted only when
// its host is that RP id, so any port of the portal's host works and no other host does.
func (p *Portal) relyingParty(r *http.Request) (*webauthn.WebAuthn, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	if host != p.cfg.RPID {
		return nil, fmt.Errorf("passkeys work only when the portal is opened as %s (this page is %s)", p.cfg.RPID, host)
	}
	scheme := "http"
	if p.cfg.Secure || r.TLS != nil {
		scheme = "https"
	}
	return webauthn.New(&webauthn.Config{
		RPID: p.cfg.RPID, RPDisplayName: "ehrchain portal", RPOrigins: []string{scheme + "://" + r.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			AuthenticatorAttachment: protocol.Platform, // the device's own authenticator: biometrics or device PIN
			ResidentKey:             protocol.ResidentKeyRequirementPreferred,
			UserVerification:        protocol.VerificationRequired,
		},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": capitalize(err.Error())})
}

func (p *Portal) user(s *session) waUser {
	f := p.store.Get(s.ident.ID)
	u := waUser{name: s.name, disp: s.ident.Name}
	if f != nil {
		u.handle, u.creds = f.UserHandle, f.Passkeys
	}
	return u
}

// passkeyRegisterBegin starts registering a passkey: at first enrolment (no factor yet), or
// from the security page once fully signed in.
func (p *Portal) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request, s *session) {
	if s.stage != stageSignedIn && p.store.Get(s.ident.ID).Enrolled() {
		jsonError(w, http.StatusForbidden, errors.New("this identity already has a second factor: sign in with it first"))
		return
	}
	rp, err := p.relyingParty(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err)
		return
	}
	if p.store.Get(s.ident.ID) == nil { // allocate the user handle
		if err := p.store.Update(s.ident.ID, func(*signin.Factors) error { return nil }); err != nil {
			jsonError(w, http.StatusInternalServerError, err)
			return
		}
	}
	u := p.user(s)
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	opts, sd, err := rp.BeginRegistration(u, webauthn.WithExclusions(exclude))
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err)
		return
	}
	s.wa = sd
	writeJSON(w, http.StatusOK, opts)
}

func (p *Portal) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request, s *session) {
	sd := s.wa
	s.wa = nil
	if sd == nil {
		jsonError(w, http.StatusBadRequest, errors.New("no passkey registration in progress"))
		return
	}
	rp, err := p.relyingParty(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err)
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		var cred *webauthn.Credential
		if cred, err = rp.CreateCredential(p.user(s), *sd, parsed); err == nil {
			err = p.store.Update(s.ident.ID, func(f *signin.Factors) error {
				if s.stage != stageSignedIn && f.Enrolled() {
					return errors.New("a second factor was enrolled meanwhile: sign in with it")
				}
				f.Passkeys = append(f.Passkeys, *cred)
				return nil
			})
		}
	}
	if err != nil {
		p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "passkey-register", Remote: remoteAddr(r), Reason: protocolDetail(err)})
		jsonError(w, http.StatusBadRequest, fmt.Errorf("the passkey was not accepted: %s", protocolDetail(err)))
		return
	}
	p.audit(signin.Event{Event: signin.EvEnrolled, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "passkey", Remote: remoteAddr(r)})
	if s.stage == stageSignedIn {
		s.flash = "Passkey added."
		writeJSON(w, http.StatusOK, map[string]string{"next": Prefix + "security"})
		return
	}
	r.Header.Set("Accept", "application/json")
	p.complete(w, r, s, "passkey")
}

func (p *Portal) passkeyLoginBegin(w http.ResponseWriter, r *http.Request, s *session) {
	rp, err := p.relyingParty(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err)
		return
	}
	u := p.user(s)
	if len(u.creds) == 0 {
		jsonError(w, http.StatusBadRequest, errors.New("no passkey is registered for this identity"))
		return
	}
	opts, sd, err := rp.BeginLogin(u)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err)
		return
	}
	s.wa = sd
	writeJSON(w, http.StatusOK, opts)
}

func (p *Portal) passkeyLoginFinish(w http.ResponseWriter, r *http.Request, s *session) {
	sd := s.wa
	s.wa = nil // a challenge is good for one answer
	if sd == nil {
		jsonError(w, http.StatusBadRequest, errors.New("no passkey sign-in in progress"))
		return
	}
	rp, err := p.relyingParty(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err)
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		var cred *webauthn.Credential
		if cred, err = rp.ValidateLogin(p.user(s), *sd, parsed); err == nil {
			err = p.store.Update(s.ident.ID, func(f *signin.Factors) error { // keep the signature counter
				for i := range f.Passkeys {
					if string(f.Passkeys[i].ID) == string(cred.ID) {
						f.Passkeys[i].Authenticator = cred.Authenticator
					}
				}
				return nil
			})
		}
	}
	if err != nil {
		s.failures++
		p.failed(s, r)
		p.audit(signin.Event{Event: signin.EvSignInFailed, Name: s.name, ID: s.ident.ID, Role: string(s.ident.Role), Method: "passkey", Remote: remoteAddr(r), Reason: protocolDetail(err)})
		if s.failures >= maxFactorTries {
			p.sess.end(s)
			clearCookie(w)
		}
		jsonError(w, http.StatusUnauthorized, fmt.Errorf("the passkey was not accepted: %s", protocolDetail(err)))
		return
	}
	r.Header.Set("Accept", "application/json")
	p.complete(w, r, s, "passkey")
}

// protocolDetail gives the library's detailed reason when there is one.
func protocolDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return pe.Details + ": " + pe.DevInfo
	}
	return err.Error()
}
