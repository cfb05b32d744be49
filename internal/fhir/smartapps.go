package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
)

// AppsFile is the gateway's register of SMART apps, under HOME/config. It is read when
// the node starts: an app is known to this gateway when its operator lists it here.
const AppsFile = "fhir-apps.json"

// App is a registered SMART app: a public client (it holds no secret, so it proves
// nothing at the token endpoint but the PKCE verifier), known by its client_id and the
// exact redirect URIs its codes may be sent to.
type App struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
}

// Apps is the register, by client_id. The zero value knows no app.
type Apps struct {
	byID    map[string]*App
	origins map[string]bool // of the redirect URIs: the browser origins CORS admits
}

type appsFile struct {
	Apps []*App `json:"apps"`
}

// LoadApps reads the register at path; a missing file is an empty register.
func LoadApps(path string) (*Apps, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Apps{}, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := ParseApps(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ParseApps checks and indexes a register: unique client ids, a name, and redirect URIs
// that are absolute, https (or http on a loopback address, for an app on the user's own
// machine) and without a fragment (RFC 6749 section 3.1.2).
func ParseApps(b []byte) (*Apps, error) {
	var f appsFile
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("apps register: %v (want {\"apps\": [{\"client_id\", \"name\", \"redirect_uris\"}]})", err)
	}
	a := &Apps{byID: map[string]*App{}, origins: map[string]bool{}}
	for i, app := range f.Apps {
		if app == nil || app.ClientID == "" || len(app.ClientID) > 128 || strings.ContainsFunc(app.ClientID, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return nil, fmt.Errorf("app %d: client_id must be 1-128 printable ASCII characters without spaces", i+1)
		}
		if a.byID[app.ClientID] != nil {
			return nil, fmt.Errorf("app %s is listed twice", app.ClientID)
		}
		if strings.TrimSpace(app.Name) == "" {
			return nil, fmt.Errorf("app %s: name is required (it is shown to the person who approves it)", app.ClientID)
		}
		if len(app.RedirectURIs) == 0 {
			return nil, fmt.Errorf("app %s: at least one redirect_uri is required", app.ClientID)
		}
		for _, ru := range app.RedirectURIs {
			u, err := redirectURI(ru)
			if err != nil {
				return nil, fmt.Errorf("app %s: redirect_uri %q: %v", app.ClientID, ru, err)
			}
			a.origins[u.Scheme+"://"+u.Host] = true
		}
		a.byID[app.ClientID] = app
	}
	return a, nil
}

func redirectURI(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, err
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("must be an absolute URL")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("must not have a fragment")
	case u.User != nil:
		return nil, fmt.Errorf("must not carry user information")
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return u, nil
	}
	return nil, fmt.Errorf("must be https (http only on a loopback address)")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Get is the app registered under clientID, or nil.
func (a *Apps) Get(clientID string) *App {
	if a == nil {
		return nil
	}
	return a.byID[clientID]
}

// redirects reports whether uri is one of the app's redirect URIs, compared exactly.
func (app *App) redirects(uri string) bool {
	for _, r := range app.RedirectURIs {
		if r == uri {
			return true
		}
	}
	return false
}

// origin reports whether a browser origin is one of a registered app's.
func (a *Apps) origin(o string) bool { return a != nil && o != "" && a.origins[o] }
