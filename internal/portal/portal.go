package portal

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
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
	MaxFailures    int           // failed attempts per identity in Window before it is locked; default 5
	Window         time.Duration // default 15 min
	Now            func() time.Time
	Logf           func(format string, args ...any)
}

// Portal serves the web pages.
type Portal struct {
	cfg       Config
	keys      keys.Dir
	store     *Store
	seen      *seenStore
	log       *signInLog
	sess      *sessions
	byName    *limiter
	byRemote  *limiter
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
	def(&cfg.Window, 15*time.Minute)
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	dir := filepath.Join(cfg.Home, "portal")
	st, err := OpenStore(dir)
	if err != nil {
		return nil, err
	}
	lg, err := openSignInLog(dir)
	if err != nil {
		return nil, err
	}
	seen, err := openSeen(dir)
	if err != nil {
		lg.close()
		return nil, err
	}
	cl := client.New("http://node.internal")
	cl.HTTP = &http.Client{Transport: inProcess{cfg.API}, Timeout: 60 * time.Second}
	p := &Portal{
		cfg: cfg, keys: keys.Dir{Path: node.Paths{Home: cfg.Home}.Keys()}, store: st, log: lg, seen: seen,
		sess:   &sessions{m: map[string]*session{}, idle: cfg.IdleTimeout, maxAge: cfg.MaxAge, pending: cfg.PendingTimeout},
		byName: newLimiter(cfg.MaxFailures, cfg.Window), byRemote: newLimiter(4*cfg.MaxFailures, cfg.Window),
		cl: cl, mux: http.NewServeMux(), stop: make(chan struct{}),
	}
	if p.pages, err = parsePages(); err != nil {
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

// Close signs everyone out (wiping their keys) and closes the sign-in log. Calling it again
// does nothing.
func (p *Portal) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.stop)
		p.done.Wait()
		p.sess.endAll()
		err = p.log.close()
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
				p.audit(SignInEvent{Event: evExpired, Name: s.name, ID: identID(s), Role: identRole(s), Remote: s.remote})
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

// inProcess sends the client's requests straight to the API handler.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r.RequestURI = r.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:0"
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func (p *Portal) audit(e SignInEvent) {
	if e.Time.IsZero() {
		e.Time = p.cfg.Now().UTC()
	}
	if err := p.log.add(e); err != nil {
		p.cfg.Logf("portal: cannot write the sign-in log: %v", err)
	}
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
