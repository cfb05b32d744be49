package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/trials/timeproof"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// The transparency report is public and unsigned like the registration it judges: its
// proven values are the trial's public records (head, versions, IRB decisions, consent
// forms, exports, postings), and the enrolment activity is counted without ids.

// readLog is a View that notes every key read, so the report proves exactly what it used.
type readLog struct {
	View
	keys []string
	seen map[string]bool
}

func (r *readLog) Get(key []byte) []byte {
	if !r.seen[string(key)] {
		r.seen[string(key)] = true
		r.keys = append(r.keys, string(key))
	}
	return r.View.Get(key)
}

// trialActivity counts a trial's enrolments, re-consents and withdrawals without ids.
func trialActivity(v View, t *trials.Trial) trials.Activity {
	var es []*trials.Enrolment
	p := trials.EnrolPrefix(t.ID)
	v.Iterate(p, func(k, _ []byte) bool {
		if e := trials.GetEnrolment(v, t.ID, strings.TrimPrefix(string(k), string(p))); e != nil {
			es = append(es, e)
		}
		return true
	})
	return trials.ActivityOf(es)
}

func (s *Server) trialReport(w http.ResponseWriter, r *http.Request) {
	var proveTime bool
	switch q := r.URL.Query().Get("prove_time"); q {
	case "", "0":
	case "1":
		proveTime = true
	default:
		writeErr(w, Space.Err(CodeBadRequest, "prove_time=%q: use prove_time=1 for the block headers that prove the block time, or leave it out", q))
		return
	}
	v := s.b.View()
	// The status after the view: its block time is not before any block the view holds.
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	var tp *trials.BlockTimeProof
	if proveTime {
		var terr *tx.Error
		if tp, st.BlockTime, terr = s.blockTimeProof(r.Context(), v.Height()); terr != nil {
			writeErr(w, terr)
			return
		}
	}
	id := r.PathValue("id")
	rl := &readLog{View: v, seen: map[string]bool{}}
	facts, err := trials.LoadReportFacts(rl, id)
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", err))
		return
	}
	if facts == nil {
		writeErr(w, trials.Space.Err(trials.CodeNotRegistered, "trial %s is not registered (at height %d)", id, v.Height()))
		return
	}
	act := trialActivity(v, facts.Trial)
	resp := wire.TrialReport{Height: v.Height(), BlockTime: st.BlockTime, Activity: act, TimeProof: tp,
		Report: trials.BuildReport(facts, act, v.Height(), st.BlockTime)}
	for _, k := range rl.keys {
		val, p, ok := s.prove(w, v, []byte(k))
		if !ok {
			return
		}
		resp.Values = append(resp.Values, wire.ProvenValue{Key: k, Value: val, Proof: p})
		resp.AppHash = p.AppHash
	}
	writeJSON(w, http.StatusOK, resp)
}

// headerSource is the node's block store as the report's time proof reads it.
type headerSource interface {
	BlockHeader(height int64) *types.Header
}

// blockTimeProof returns the headers of blocks h and h+1 and the time of block h. Block
// h+1 carries the app hash of the state at h, so it is made after the view was taken: the
// node makes a block at least every second (empty blocks), and this waits for it.
func (s *Server) blockTimeProof(ctx context.Context, h int64) (*trials.BlockTimeProof, time.Time, *tx.Error) {
	hs, ok := s.b.(headerSource)
	if !ok {
		return nil, time.Time{}, Space.Err(CodeUnavailable, "this node serves no block headers")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cur, next := hs.BlockHeader(h), hs.BlockHeader(h+1)
		if cur == nil { // a committed block is stored unless pruned
			return nil, time.Time{}, Space.Err(CodeUnavailable, "block %d is not stored on this node (pruned)", h)
		}
		if next != nil {
			p, err := timeproof.New(cur, next)
			if err != nil {
				return nil, time.Time{}, Space.Err(CodeInternal, "encode headers: %v", err)
			}
			return p, cur.Time, nil
		}
		select {
		case <-ctx.Done():
			return nil, time.Time{}, Space.Err(CodeUnavailable, "block %d, which carries the app hash of height %d, was not made in time; ask again", h+1, h)
		case <-tick.C:
		}
	}
}

// Cross-trial report pages: ?limit= trials a page (default and maximum below), ?after= the
// last trial id of the previous page; trials come in id order.
const (
	trialsPageDefault = 100
	trialsPageMax     = 1000
)

// trialsReport is the regulator's view across all trials: each trial's violations by
// rule, from the same report GET /v1/trials/{id}/report proves, a page at a time.
func (s *Server) trialsReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := trialsPageDefault
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > trialsPageMax {
			writeErr(w, Space.Err(CodeBadRequest, "limit=%q: give 1 to %d trials a page", l, trialsPageMax))
			return
		}
		limit = n
	}
	after := q.Get("after")
	if after != "" && !trials.ValidID(after) {
		writeErr(w, Space.Err(CodeBadRequest, "after=%q is not a trial id: give the last id of the previous page", after))
		return
	}
	v := s.b.View()
	st, err := s.b.Status(r.Context())
	if err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	out := wire.TrialsReport{Height: v.Height(), BlockTime: st.BlockTime, Trials: []wire.TrialFindings{}}
	from := trials.Prefix
	if after != "" {
		from = append(append(slices.Clip(trials.Prefix), after...), 0) // the first key after the trial's
	}
	var ferr error
	var last string
	v.IterateFrom(trials.Prefix, from, func(k, _ []byte) bool {
		id := strings.TrimPrefix(string(k), string(trials.Prefix))
		if len(out.Trials) == limit {
			out.Next = "/v1/trials/report?" + url.Values{"limit": {strconv.Itoa(limit)}, "after": {last}}.Encode()
			return false
		}
		facts, err := trials.LoadReportFacts(v, id)
		if err != nil {
			ferr = err
			return false
		}
		if facts != nil {
			out.Trials = append(out.Trials, wire.FindingsOf(trials.BuildReport(facts, trialActivity(v, facts.Trial), v.Height(), st.BlockTime)))
			last = id
		}
		return true
	})
	if ferr != nil {
		writeErr(w, Space.Err(CodeInternal, "%v", ferr))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
