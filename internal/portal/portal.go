package portal

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/signin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the portal is mounted on the node's HTTP server.
const Prefix = "/portal/"

// Config configures a portal.
type Config struct {
	Home   string         // node home: keystores are read from HOME/keys, portal state kept in HOME/portal
	API    http.Handler   // the node's API, called in-process (no socket, no TLS loop)
	Secure bool           // the server speaks HTTPS: session cookies are marked Secure
	RPID   string         // WebAuthn relying party id: the host name people browse to (default "localhost")
	KDF    keys.KDFParams // for keystores the portal rewrites (a revocation adds keys); default keys.DefaultKDF

	IdleTimeout    time.Duration // default 15 min
	MaxAge         time.Duration // default 8 h
	PendingTimeout time.Duration // a sign-in not finished within this is dropped; default 5 min
	MaxFailures    int           // failed attempts per identity in a row before it is locked; default 5 (ignored with SignIn)
	Window         time.Duration // a lock lasts this long after the last failure; default 15 min (ignored with SignIn)
	Now            func() time.Time
	Logf           func(format string, args ...any)
	// SignIn is the node's sign-in state (factors, lockouts, sign-in log), shared with the FHIR
	// gateway's person login. Nil: the portal opens HOME/portal itself and closes it on Close.
	SignIn *signin.Service
}

// Portal serves the web pages.
type Portal struct {
	cfg       Config
	keys      keys.Dir
	si        *signin.Service
	ownSI     bool // opened by New, closed by Close
	store     *signin.Store
	seen      *seenStore
	sess      *sessions
	cl        *client.Client
	pages     map[string]*template.Template
	mux       *http.ServeMux
	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

// New opens the portal's state in HOME/portal and builds its handler.
func New(cfg Config) (*Portal, error) {
	if cfg.Home == "" || cfg.API == nil {
		return nil, errors.New("portal: Home and API are required")
	}
	if cfg.RPID == "" {
		cfg.RPID = "localhost"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.IdleTimeout, 15*time.Minute)
	def(&cfg.MaxAge, 8*time.Hour)
	def(&cfg.PendingTimeout, 5*time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	dir := filepath.Join(cfg.Home, "portal")
	si, own := cfg.SignIn, false
	if si == nil {
		var err error
		if si, err = signin.Open(dir, signin.Limits{MaxFailures: cfg.MaxFailures, Window: cfg.Window}); err != nil {
			return nil, err
		}
		own = true
	}
	closeSI := func() {
		if own {
			si.Close()
		}
	}
	seen, err := openSeen(dir)
	if err != nil {
		closeSI()
		return nil, err
	}
	cl := client.InProcess(cfg.API)
	cl.HTTP.Timeout = 60 * time.Second
	p := &Portal{
		cfg: cfg, keys: keys.Dir{Path: node.Paths{Home: cfg.Home}.Keys()}, si: si, ownSI: own, store: si.Factors(), seen: seen,
		sess: &sessions{m: map[string]*session{}, idle: cfg.IdleTimeout, maxAge: cfg.MaxAge, pending: cfg.PendingTimeout},
		cl:   cl, mux: http.NewServeMux(), stop: make(chan struct{}),
	}
	if p.pages, err = parsePages(); err != nil {
		closeSI()
		return nil, err
	}
	p.routes()
	p.done.Add(1)
	go p.sweeper()
	return p, nil
}

func (p *Portal) kdf() keys.KDFParams {
	if p.cfg.KDF.Time == 0 {
		return keys.DefaultKDF
	}
	return p.cfg.KDF
}

// Close signs everyone out (wiping their keys) and closes the sign-in log if the portal opened
// it. Calling it again does nothing.
func (p *Portal) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.stop)
		p.done.Wait()
		p.sess.endAll()
		if p.ownSI {
			err = p.si.Close()
		}
	})
	return err
}

// sweeper ends expired sessions so their keys do not wait in memory for the next request.
func (p *Portal) sweeper() {
	defer p.done.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			for _, s := range p.sess.sweep(p.cfg.Now()) {
				p.audit(signin.Event{Event: signin.EvExpired, Name: s.name, ID: identID(s), Role: identRole(s), Remote: s.remote})
			}
		}
	}
}

// ServeHTTP serves the portal; mount it at Prefix.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if p.cfg.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	p.mux.ServeHTTP(w, r)
}

// audit writes an event to the sign-in log, or says why it could not (the caller decides
// whether that refuses the request).
func (p *Portal) audit(e signin.Event) error {
	if e.Time.IsZero() {
		e.Time = p.cfg.Now().UTC()
	}
	e.Entry = signin.Portal.String()
	err := p.si.Record(e)
	if err != nil {
		p.cfg.Logf("portal: cannot write the sign-in log: %v", err)
	}
	return err
}

func identID(s *session) string {
	if s.ident == nil {
		return ""
	}
	return s.ident.ID
}

func identRole(s *session) string {
	if s.ident == nil {
		return ""
	}
	return string(s.ident.Role)
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// homeFor is the landing page of a role.
func homeFor(role identity.Role) string {
	switch role {
	case identity.Patient, identity.Provider, identity.Auditor:
		return Prefix + string(role)
	}
	return Prefix + "security"
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(filepath.Base(n), ".html")
		if base == "layout" || base == "records" || base == "declaration" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/records.html", "templates/declaration.html", n)
		if err != nil {
			return nil, fmt.Errorf("portal template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}
