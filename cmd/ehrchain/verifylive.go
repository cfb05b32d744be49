package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/integrity"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/operator"
)

// Online verification: `ehrchain verify` on the home of a running node asks the node to
// verify a consistent cut of its own stores (POST /v1/admin/verify) and polls the result
// (GET /v1/admin/verify). One verification runs at a time; the node keeps committing.

func init() {
	operatorRoutes["POST /v1/admin/verify"] = func(n *node.Node, _ string) http.Handler {
		return http.HandlerFunc(verifierOf(n).start)
	}
	operatorRoutes["GET /v1/admin/verify"] = func(n *node.Node, _ string) http.Handler {
		return http.HandlerFunc(verifierOf(n).status)
	}
}

// verifyStatus is what the endpoint answers: the running or the last verification.
type verifyStatus struct {
	ID       int                `json:"id"`
	State    string             `json:"state"` // "running", "ok", "failed" (damage found), "error" (could not verify)
	Height   int64              `json:"height"`
	Head     int64              `json:"head"`
	Report   *integrity.Report  `json:"report,omitempty"`
	Failure  *integrity.Failure `json:"failure,omitempty"`
	Error    string             `json:"error,omitempty"`
	NoReplay bool               `json:"no_replay"`
}

type liveVerifier struct {
	n    *node.Node
	mu   sync.Mutex
	last verifyStatus
}

var (
	verifiersMu sync.Mutex
	verifiers   = map[*node.Node]*liveVerifier{}
)

func verifierOf(n *node.Node) *liveVerifier {
	verifiersMu.Lock()
	defer verifiersMu.Unlock()
	if verifiers[n] == nil {
		verifiers[n] = &liveVerifier{n: n}
	}
	return verifiers[n]
}

func (v *liveVerifier) start(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NoReplay bool `json:"no_replay"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&req); err != nil {
			writeStatus(w, http.StatusBadRequest, map[string]string{"log": "the body must be {\"no_replay\": bool}: " + err.Error()})
			return
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last.State == "running" {
		writeStatus(w, http.StatusConflict, v.last)
		return
	}
	v.last = verifyStatus{ID: v.last.ID + 1, State: "running", NoReplay: req.NoReplay}
	id := v.last.ID
	go v.run(id, integrity.Options{NoReplay: req.NoReplay, Progress: func(h, head int64) {
		v.mu.Lock()
		v.last.Height, v.last.Head = h, head
		v.mu.Unlock()
	}})
	writeStatus(w, http.StatusAccepted, v.last)
}

func (v *liveVerifier) run(id int, o integrity.Options) {
	rep, err := integrity.VerifyLive(v.n, o)
	v.mu.Lock()
	defer v.mu.Unlock()
	s := &v.last
	s.Report = rep
	var f *integrity.Failure
	switch {
	case errors.As(err, &f):
		s.State, s.Failure = "failed", f
	case err != nil:
		s.State, s.Error = "error", err.Error()
	default:
		s.State = "ok"
	}
}

func (v *liveVerifier) status(w http.ResponseWriter, _ *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.last.ID == 0 {
		writeStatus(w, http.StatusNotFound, map[string]string{"log": "no verification has run since the node started: POST /v1/admin/verify"})
		return
	}
	writeStatus(w, http.StatusOK, v.last)
}

func writeStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// verifyOnline runs the verification on the node running on home and reports it as the
// offline verify does.
func verifyOnline(ctx context.Context, home string, noReplay, quiet bool) error {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return err
	}
	tok, err := operator.LoadToken(home)
	if err != nil {
		return fmt.Errorf("a node is running on %s but its operator token is unreadable: %w", home, err)
	}
	if b, err := os.ReadFile(apiAddrFile(home)); err == nil {
		cfg.API = strings.TrimSpace(string(b)) // the address this run listens on (--api may override the config)
	}
	base, hc, err := operatorClient(cfg)
	if err != nil {
		return err
	}
	call := func(method string, body []byte) (*verifyStatus, int, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+operator.Prefix+"verify", bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		operator.SetToken(req, tok)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, 0, fmt.Errorf("ask the running node to verify: %w", err)
		}
		defer resp.Body.Close()
		var s verifyStatus
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusConflict {
			var e struct{ Log string }
			json.NewDecoder(resp.Body).Decode(&e)
			return nil, resp.StatusCode, fmt.Errorf("the node refused the verification (%d): %s", resp.StatusCode, e.Log)
		}
		return &s, resp.StatusCode, json.NewDecoder(resp.Body).Decode(&s)
	}
	body, _ := json.Marshal(map[string]bool{"no_replay": noReplay})
	s, code, err := call(http.MethodPost, body)
	if err != nil {
		return err
	}
	if code == http.StatusConflict {
		fmt.Fprintln(os.Stderr, "a verification is already running on the node; following it")
	} else if !quiet {
		fmt.Fprintln(os.Stderr, "the node is running: verifying a consistent snapshot of its stores while it keeps committing")
	}
	id, lastShown := s.ID, int64(0)
	for s.State == "running" {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if s, _, err = call(http.MethodGet, nil); err != nil {
			return err
		}
		if s.ID != id {
			return errors.New("the node restarted or ran another verification meanwhile")
		}
		if !quiet && s.Head > 0 && s.Height != lastShown && (s.Height-lastShown >= 1000 || s.Height == s.Head) {
			fmt.Fprintf(os.Stderr, "verified height %d of %d\n", s.Height, s.Head)
			lastShown = s.Height
		}
	}
	rep := s.Report
	if rep == nil {
		rep = &integrity.Report{}
	}
	switch s.State {
	case "failed":
		return reportVerify(rep, s.Failure)
	case "error":
		return errors.New(s.Error)
	}
	return reportVerify(rep, nil)
}

// operatorClient reaches the node's API on loopback. Over TLS it trusts exactly the
// certificate the node is configured with, whatever name it carries: the request holds the
// operator token.
func operatorClient(cfg node.Config) (string, *http.Client, error) {
	host, port, err := net.SplitHostPort(cfg.API)
	if err != nil {
		return "", nil, fmt.Errorf("the node's API address %q: %w", cfg.API, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.TLSCert == "" {
		return "http://" + addr, hc, nil
	}
	pemBytes, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return "", nil, err
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return "", nil, fmt.Errorf("%s holds no PEM certificate", cfg.TLSCert)
	}
	want := blk.Bytes
	hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the node's API presents another certificate than the one its configuration names")
			}
			return nil
		},
	}}
	return "https://" + addr, hc, nil
}

// apiAddrFile holds the address the running node's API listens on, for the operator's
// commands on the same machine.
func apiAddrFile(home string) string { return filepath.Join(home, "operator.addr") }

// recordAPIAddr writes apiAddrFile at start.
func recordAPIAddr(home string, addr net.Addr) error {
	return os.WriteFile(apiAddrFile(home), []byte(addr.String()+"\n"), 0o600)
}
