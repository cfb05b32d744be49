package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// DefaultVerifyPerMinute is how many verifications one client address may ask a minute
// when the node's configuration sets none: a pharmacy counter scanning every pack it
// dispenses stays far below it, a scraper walking serial numbers is slowed to it.
const DefaultVerifyPerMinute = 120

// verifyLimit is the per-client limit on GET /epcis/verify, which is unsigned and open to
// anyone and costs the node two state proofs per call. The zero value limits at
// DefaultVerifyPerMinute; LimitVerify changes it.
type verifyLimit struct {
	mu        sync.Mutex
	set       bool
	rate      *netlimit.Rate // nil once set: no limit
	perMinute int
}

func (l *verifyLimit) get() (*netlimit.Rate, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.set {
		l.rate, _ = netlimit.NewRate(DefaultVerifyPerMinute, time.Minute, nil)
		l.perMinute, l.set = DefaultVerifyPerMinute, true
	}
	return l.rate, l.perMinute
}

// LimitVerify sets how many verifications a client address may ask a minute (node config
// verify_per_minute): up to that many at once, then one every minute/perMinute. Zero
// takes DefaultVerifyPerMinute; a negative value turns the limit off (for a node behind a
// proxy that limits, where every client would share the proxy's address). now is the
// limiter's clock (nil: the wall clock).
func (s *Server) LimitVerify(perMinute int, now func() time.Time) error {
	var rate *netlimit.Rate
	if perMinute == 0 {
		perMinute = DefaultVerifyPerMinute
	}
	if perMinute > 0 {
		var err error
		if rate, err = netlimit.NewRate(perMinute, time.Minute, now); err != nil {
			return fmt.Errorf("verify_per_minute: %w", err)
		}
	}
	l := &s.verifyLimit
	l.mu.Lock()
	l.rate, l.perMinute, l.set = rate, perMinute, true
	l.mu.Unlock()
	return nil
}

// allowVerify takes a verification from the caller's allowance, or answers 429 with
// Retry-After. The caller is its address, or the browser's an in-process portal acts for
// (netlimit.ForClient); no forwarding header is believed, since anyone can send one.
func (s *Server) allowVerify(w http.ResponseWriter, r *http.Request) bool {
	rate, perMinute := s.verifyLimit.get()
	client, ok := netlimit.Client(r)
	if rate == nil || !ok {
		return true
	}
	allowed, wait := rate.Allow(client)
	if allowed {
		return true
	}
	w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
	writeJSON(w, http.StatusTooManyRequests, Space.Err(CodeBusy,
		"too many verifications from %s: each address may verify %d codes a minute; retry in %s s", client, perMinute, netlimit.RetryAfter(wait)))
	return false
}

// verifyCode answers whether the pack a GS1 Digital Link or DataMatrix element string
// names is genuine, unknown, suspect, recalled, expired or dispensed (supply.Judge), with
// proofs of the public records judged. It is open to anyone (a patient scanning a pack)
// and shows no trading partner's data.
func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) {
	if !s.allowVerify(w, r) {
		return
	}
	raw := r.URL.Query().Get("code")
	if raw == "" {
		writeErr(w, Space.Err(CodeBadRequest, "code= must be a GS1 Digital Link URI or a DataMatrix element string such as (01)<GTIN>(21)<serial>(10)<lot>(17)<YYMMDD>"))
		return
	}
	code, err := supply.ParseCode(raw)
	if err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "%v", err))
		return
	}
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v := s.b.View()
	resp := wire.VerifyResponse{Code: code, Item: code.ItemID(), Height: v.Height(), BlockTime: st.BlockTime}
	val, p, ok := s.prove(w, v, supply.PublicKey(resp.Item))
	if !ok {
		return
	}
	resp.Value, resp.Proof = val, p
	item, err := supply.DecodePublic(val)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	resp.Public = item
	var lot *supply.Public
	if item != nil && item.Lot != "" {
		resp.Lot = item.Lot
		if resp.LotValue, resp.LotProof, ok = s.prove(w, v, supply.PublicKey(item.Lot)); !ok {
			return
		}
		if lot, err = supply.DecodePublic(resp.LotValue); err != nil {
			writeErr(w, Space.Err(CodeInternal, "%v", err))
			return
		}
		resp.LotPublic = lot
	}
	resp.Verdict = supply.Judge(code, item, lot, st.BlockTime)
	writeJSON(w, http.StatusOK, resp)
}
