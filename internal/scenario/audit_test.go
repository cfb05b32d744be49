package scenario

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// happened is an event the story expects on the ledger, written down as the story acts.
type happened struct {
	action, outcome, actor, org, about, record string
}

func (h happened) String() string {
	return fmt.Sprintf("%s/%s by %.8s (%s) about %.8s %s", h.action, h.outcome, h.actor, h.org, h.about, h.record)
}

func seen(e *audit.Event) happened {
	return happened{e.Action, e.Outcome, e.Actor, e.Organization, e.About(), e.Record}
}

// auditStory is the consent story's cast plus a second patient, with a journal of every
// event the story caused, in order.
type auditStory struct {
	*story
	pat2    *keys.Keystore
	journal []happened
}

func (s *auditStory) did(action, outcome string, actor *keys.Keystore, org, about, record string) {
	s.journal = append(s.journal, happened{action, outcome, actor.ID, org, about, record})
}

func (s *auditStory) where(keep func(happened) bool) []happened {
	var out []happened
	for _, h := range s.journal {
		if keep(h) {
			out = append(out, h)
		}
	}
	return out
}

// query follows every page of f as who, limit events a page, and returns what it saw.
func (s *auditStory) query(who *keys.Keystore, f audit.Filter) ([]*audit.Event, error) {
	var out []*audit.Event
	err := s.c.AuditQueryAll(s.ctx, who, f, func(p *wire.AuditQueryResponse) error {
		limit := f.Limit
		if limit == 0 {
			limit = audit.DefaultLimit
		}
		if len(p.Events) > limit {
			return fmt.Errorf("page of %d events, limit %d", len(p.Events), limit)
		}
		out = append(out, p.Events...)
		return nil
	})
	return out, err
}

// expect checks that who, asking f, gets exactly want, in order.
func (s *auditStory) expect(who *keys.Keystore, f audit.Filter, want []happened) []*audit.Event {
	s.t.Helper()
	evs, err := s.query(who, f)
	if err != nil {
		s.t.Fatalf("%s asking %+v: %v", who.Name, f, err)
	}
	got := make([]happened, len(evs))
	for i, e := range evs {
		got[i] = seen(e)
		if i > 0 && e.Index <= evs[i-1].Index {
			s.t.Fatalf("%s asking %+v: events out of log order", who.Name, f)
		}
	}
	if !slices.Equal(got, want) {
		s.t.Fatalf("%s asking %+v:\n got %d events %v\nwant %d events %v", who.Name, f, len(got), got, len(want), want)
	}
	return evs
}

// refused checks that an error is the coded rejection want, with HTTP status status.
func refused(t *testing.T, what string, err error, status int, space tx.Codespace, code uint32) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status || ce.Codespace != string(space) || ce.Code != code {
		t.Fatalf("%s: want HTTP %d %s/%d, got %v", what, status, space, code, err)
	}
}

func TestAuditTrailStory(t *testing.T) {
	s := &auditStory{story: newStory(t)}
	reg, a, b, pat, aud := s.reg, s.a, s.b, s.patient, s.auditor
	// What newStory did, as the ledger records it.
	s.journal = []happened{
		{audit.IdentityRegister, audit.Success, "genesis", "", reg.ID, ""},
		{audit.IdentityRegister, audit.Success, reg.ID, "St Mary", a.ID, ""},
		{audit.IdentityRegister, audit.Success, reg.ID, "City Clinic", b.ID, ""},
		{audit.IdentityRegister, audit.Success, reg.ID, "", aud.ID, ""},
		{audit.IdentityRegister, audit.Success, a.ID, "", pat.ID, ""},
		{audit.KeysPublish, audit.Success, pat.ID, "", pat.ID, ""},
	}
	chainID, err := s.c.ChainIDOf(s.ctx)
	s.must(err)
	obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","note":"%s-audit"}`, marker)

	// Provider B registers a second patient and writes for them.
	s.pat2 = s.ks("pat2")
	s.send(b, client.RegistrationFor(chainID, s.pat2, identity.Patient, "Pat Two", "", ""))
	s.did(audit.IdentityRegister, audit.Success, b, "", s.pat2.ID, "")
	_, err = s.c.PublishCategories(s.ctx, s.pat2, []string{"general"})
	s.must(err)
	s.did(audit.KeysPublish, audit.Success, s.pat2, "", s.pat2.ID, "")
	r4, err := s.c.PutRecord(s.ctx, b, client.NewRecord{Patient: s.pat2.ID, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Plaintext: []byte(obs)})
	s.must(err)
	s.did(audit.RecordWrite, audit.Success, b, "City Clinic", s.pat2.ID, r4.RecordID)

	// A writes for its patient; the patient reads; B is denied.
	r1 := s.write(a, "general", "Observation", obs)
	s.did(audit.RecordWrite, audit.Success, a, "St Mary", pat.ID, r1.RecordID)
	s.mustRead(pat, r1, consent.Treatment, obs)
	s.did(audit.RecordRead, audit.Success, pat, "", pat.ID, r1.RecordID)
	s.mustDeny(b, r1, consent.Treatment, "no consent")
	s.did(audit.RecordRead, audit.Denied, b, "City Clinic", pat.ID, r1.RecordID)

	// The auditor cannot read clinical content: the node denies it (and records the attempt),
	// and no patient can grant it access.
	q, err := s.c.NewReadRequest(s.ctx, aud, pat.ID, r1.RecordID, consent.Treatment)
	s.must(err)
	resp, err := s.c.SubmitRead(s.ctx, q)
	refused(t, "auditor reading a record", err, http.StatusForbidden, consent.Space, consent.CodeDenied)
	if resp != nil {
		t.Fatalf("auditor's read released %+v", resp)
	}
	s.did(audit.RecordRead, audit.Denied, aud, "", pat.ID, r1.RecordID)
	_, err = s.c.Grant(s.ctx, pat, consent.Grant{Grantee: aud.ID, Actions: []string{consent.Read}, Purposes: []string{consent.Operations}})
	refused(t, "granting the auditor read access", err, http.StatusBadRequest, consent.Space, consent.CodeInvalid)

	// The patient grants B; B reads; A amends; B lists; the patient revokes; B is denied.
	grant, err := s.c.Grant(s.ctx, pat, consent.Grant{Grantee: b.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	s.must(err)
	s.did(audit.ConsentGrant, audit.Success, pat, "", pat.ID, "")
	s.mustRead(b, r1, consent.Treatment, obs)
	s.did(audit.RecordRead, audit.Success, b, "City Clinic", pat.ID, r1.RecordID)
	_, err = s.c.PutRecord(s.ctx, a, client.NewRecord{ID: r1.RecordID, Patient: pat.ID, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: []byte(obs + " amended")})
	s.must(err)
	// The client reads the record's head first, to learn the next version: also audited.
	s.did(audit.RecordRead, audit.Success, a, "St Mary", pat.ID, r1.RecordID)
	s.did(audit.RecordAmend, audit.Success, a, "St Mary", pat.ID, r1.RecordID)
	_, err = s.c.ListRecords(s.ctx, b, pat.ID, consent.Treatment)
	s.must(err)
	s.did(audit.RecordList, audit.Success, b, "City Clinic", pat.ID, "")
	s.must(s.c.Revoke(s.ctx, pat, grant))
	s.did(audit.ConsentRevoke, audit.Success, pat, "", pat.ID, "")
	s.mustDeny(b, r1, consent.Treatment, "revoked")
	s.did(audit.RecordRead, audit.Denied, b, "City Clinic", pat.ID, r1.RecordID)

	// The auditor sees the whole trail, in order, a few events a page.
	everything := s.expect(aud, audit.Filter{Limit: 4}, s.journal)
	st, err := s.c.Status(s.ctx)
	s.must(err)
	if st.LogSize != uint64(len(s.journal)) {
		t.Fatalf("log holds %d events, the story caused %d", st.LogSize, len(s.journal))
	}

	// Each filter returns exactly the events that match it.
	is := func(field func(happened) string, v string) func(happened) bool {
		return func(h happened) bool { return field(h) == v }
	}
	about := func(h happened) string { return h.about }
	actor := func(h happened) string { return h.actor }
	outcome := func(h happened) string { return h.outcome }
	and := func(p, q func(happened) bool) func(happened) bool {
		return func(h happened) bool { return p(h) && q(h) }
	}
	for _, c := range []struct {
		f    audit.Filter
		keep func(happened) bool
	}{
		{audit.Filter{Patient: pat.ID}, is(about, pat.ID)},
		{audit.Filter{Patient: s.pat2.ID, Limit: 1}, is(about, s.pat2.ID)},
		{audit.Filter{Actor: b.ID, Limit: 2}, is(actor, b.ID)},
		{audit.Filter{Organization: "City Clinic"}, func(h happened) bool { return h.org == "City Clinic" }},
		{audit.Filter{Action: audit.RecordRead}, func(h happened) bool { return h.action == audit.RecordRead }},
		{audit.Filter{Action: "record.*", Limit: 3}, func(h happened) bool { return strings.HasPrefix(h.action, "record.") }},
		{audit.Filter{Action: "consent.*"}, func(h happened) bool { return strings.HasPrefix(h.action, "consent.") }},
		{audit.Filter{Outcome: audit.Denied}, is(outcome, audit.Denied)},
		{audit.Filter{Actor: b.ID, Outcome: audit.Denied, Patient: pat.ID}, and(is(actor, b.ID), and(is(outcome, audit.Denied), is(about, pat.ID)))},
		{audit.Filter{Actor: aud.ID}, is(actor, aud.ID)},
		{audit.Filter{Patient: "0000000000000000000000000000000000000000"}, func(happened) bool { return false }},
	} {
		s.expect(aud, c.f, s.where(c.keep))
	}

	// A time range is a contiguous stretch of the log: every event at or after From and
	// before To. Take the bounds from the block times of the grant and of the revocation.
	at := func(action string) time.Time {
		for _, e := range everything {
			if e.Action == action {
				return e.Time
			}
		}
		t.Fatalf("no %s event", action)
		return time.Time{}
	}
	from, to := at(audit.ConsentGrant), at(audit.ConsentRevoke)
	var inRange []happened
	for _, e := range everything {
		if !e.Time.Before(from) && e.Time.Before(to) {
			inRange = append(inRange, seen(e))
		}
	}
	if len(inRange) < 3 || inRange[0].action != audit.ConsentGrant {
		t.Fatalf("range from the grant to the revocation: %v", inRange)
	}
	s.expect(aud, audit.Filter{From: from, To: to, Limit: 2}, inRange)
	s.expect(aud, audit.Filter{From: to}, s.journal[len(s.journal)-2:])
	s.expect(aud, audit.Filter{From: from, To: to, Actor: b.ID},
		slices.DeleteFunc(slices.Clone(inRange), func(h happened) bool { return h.actor != b.ID }))

	// Access control: providers see their own actions, patients the events about them, the
	// registrar identity changes; asking for more is refused.
	s.expect(a, audit.Filter{}, s.where(is(actor, a.ID)))
	s.expect(b, audit.Filter{Patient: pat.ID}, s.where(and(is(actor, b.ID), is(about, pat.ID))))
	_, err = s.query(a, audit.Filter{Actor: b.ID})
	refused(t, "a provider querying another provider's trail", err, http.StatusForbidden, audit.Space, audit.CodeUnauthorized)
	s.expect(pat, audit.Filter{}, s.where(is(about, pat.ID)))
	s.expect(s.pat2, audit.Filter{Outcome: audit.Success}, s.where(and(is(about, s.pat2.ID), is(outcome, audit.Success))))
	_, err = s.query(pat, audit.Filter{Patient: s.pat2.ID})
	refused(t, "a patient querying another patient's events", err, http.StatusForbidden, audit.Space, audit.CodeUnauthorized)
	s.expect(reg, audit.Filter{}, s.where(func(h happened) bool { return strings.HasPrefix(h.action, "identity.") }))
	_, err = s.query(reg, audit.Filter{Action: audit.RecordRead})
	refused(t, "the registrar querying reads", err, http.StatusForbidden, audit.Space, audit.CodeUnauthorized)

	// What the auditor gets holds no clinical content.
	raw, err := json.Marshal(everything)
	s.must(err)
	if strings.Contains(string(raw), marker) {
		t.Fatal("an audit query answer holds plaintext")
	}

	s.adversarial(chainID)

	// A deactivated identity can no longer query.
	s.send(reg, &identity.Deactivate{ID: s.pat2.ID, Reason: "moved away"})
	s.did(audit.IdentityDeactivate, audit.Success, reg, "", s.pat2.ID, "")
	_, err = s.query(s.pat2, audit.Filter{})
	refused(t, "a deactivated patient querying", err, http.StatusForbidden, tx.Space, tx.CodeInactive)
	s.expect(aud, audit.Filter{Action: "identity.*", Patient: s.pat2.ID},
		s.where(func(h happened) bool { return h.about == s.pat2.ID && strings.HasPrefix(h.action, "identity.") }))

	s.indexSurvivesRestart()
}

// adversarial sends queries that must be refused before anything is answered.
func (s *auditStory) adversarial(chainID string) {
	t, a, b := s.t, s.a, s.b
	sign := func(who *keys.Keystore, claim string, chain string, f audit.Filter, notAfter time.Time) *audit.QueryRequest {
		q := &audit.QueryRequest{ChainID: chain, Requester: claim, Filter: f, NotAfter: notAfter.Unix()}
		rand.Read(q.Nonce[:])
		q.Sign(who.Keys.Sign)
		return q
	}
	soon := time.Now().Add(time.Minute)
	stranger := s.ks("stranger")
	for _, c := range []struct {
		what   string
		q      *audit.QueryRequest
		status int
		space  tx.Codespace
		code   uint32
	}{
		{"B's key signing as A", sign(b, a.ID, chainID, audit.Filter{}, soon), http.StatusUnauthorized, tx.Space, tx.CodeBadSignature},
		{"the auditor's id with A's key", sign(a, s.auditor.ID, chainID, audit.Filter{}, soon), http.StatusUnauthorized, tx.Space, tx.CodeBadSignature},
		{"expired", sign(a, a.ID, chainID, audit.Filter{}, time.Now().Add(-time.Minute)), http.StatusUnauthorized, audit.Space, audit.CodeExpired},
		{"valid for too long", sign(a, a.ID, chainID, audit.Filter{}, time.Now().Add(time.Hour)), http.StatusUnauthorized, audit.Space, audit.CodeExpired},
		{"another chain", sign(a, a.ID, "other-chain", audit.Filter{}, soon), http.StatusBadRequest, tx.Space, tx.CodeWrongChain},
		{"unregistered requester", sign(stranger, stranger.ID, chainID, audit.Filter{}, soon), http.StatusUnauthorized, tx.Space, tx.CodeUnknownSigner},
		{"malformed filter", sign(s.auditor, s.auditor.ID, chainID, audit.Filter{Outcome: "maybe"}, soon), http.StatusBadRequest, audit.Space, audit.CodeInvalid},
		{"unknown action", sign(s.auditor, s.auditor.ID, chainID, audit.Filter{Action: "record.reads"}, soon), http.StatusBadRequest, audit.Space, audit.CodeInvalid},
	} {
		_, err := s.c.SubmitAuditQuery(s.ctx, c.q)
		refused(t, c.what, err, c.status, c.space, c.code)
	}

	// A query answered once is not answered again.
	q, err := s.c.NewAuditQuery(s.ctx, s.auditor, audit.Filter{Limit: 1})
	s.must(err)
	_, err = s.c.SubmitAuditQuery(s.ctx, q)
	s.must(err)
	_, err = s.c.SubmitAuditQuery(s.ctx, q)
	refused(t, "a replayed query", err, http.StatusConflict, audit.Space, audit.CodeReplayed)

	// Bytes that are not a signed query.
	for _, body := range []string{`{"request":"not base64!"}`, `{"request":"` + base64.StdEncoding.EncodeToString([]byte("junk")) + `"}`, `nonsense`} {
		resp, err := http.Post(s.c.Base+"/v1/audit/query", "application/json", strings.NewReader(body))
		s.must(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("body %q: HTTP %d", body, resp.StatusCode)
		}
	}
	// A flipped bit in a good query is refused.
	q, err = s.c.NewAuditQuery(s.ctx, s.auditor, audit.Filter{})
	s.must(err)
	enc := q.Encode()
	enc[len(enc)-70] ^= 1 // inside not_after or the nonce, covered by the signature
	_, err = s.c.SubmitAuditQuery(s.ctx, mustDecode(t, enc))
	refused(t, "a query with a flipped bit", err, http.StatusUnauthorized, tx.Space, tx.CodeBadSignature)
}

func mustDecode(t *testing.T, b []byte) *audit.QueryRequest {
	t.Helper()
	q, err := audit.DecodeQueryRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// indexSurvivesRestart stops the node and starts it again, first with its audit index, then
// without (rebuilt from the log), and checks that indexed answers equal a full scan and the
// story's journal.
func (s *auditStory) indexSurvivesRestart() {
	t := s.t
	dir := filepath.Join(s.home, "app", "auditidx")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("no audit index: %v", err)
	}
	filters := []audit.Filter{{}, {Patient: s.patient.ID}, {Actor: s.b.ID}, {Organization: "St Mary"}, {Action: "record.*"},
		{Action: audit.RecordRead, Outcome: audit.Denied}, {Patient: s.pat2.ID, Action: "identity.*"}}
	for _, wipe := range []bool{false, true} {
		s.node.Stop()
		if wipe {
			s.must(os.RemoveAll(dir))
		}
		s.node = nodetest.Start(t, s.home)
		s.c = s.node.Client
		ix, v := s.node.Node.AuditIndex(), s.node.Node.View()
		if ix == nil {
			t.Fatal("the restarted node has no audit index")
		}
		if err := ix.CatchUp(v); err != nil || ix.Size() < v.LogSize() {
			t.Fatalf("index holds %d of %d events: %v", ix.Size(), v.LogSize(), err)
		}
		for _, f := range filters {
			f.Limit = audit.MaxLimit
			indexed, err := audit.Query(v, ix, f)
			s.must(err)
			scanned, err := audit.Query(v, nil, f)
			s.must(err)
			a, _ := json.Marshal(indexed)
			b, _ := json.Marshal(scanned)
			if string(a) != string(b) || len(indexed.Events) == 0 {
				t.Fatalf("after restart (index wiped: %v), %+v: the index gives %d events, a scan %d", wipe, f, len(indexed.Events), len(scanned.Events))
			}
		}
		s.expect(s.auditor, audit.Filter{}, s.journal)
		s.expect(s.auditor, audit.Filter{Actor: s.b.ID}, s.where(func(h happened) bool { return h.actor == s.b.ID }))
	}
}

// TestAuditQueryWithoutIndex: a backend without an audit index answers the same by scanning.
func TestAuditQueryWithoutIndex(t *testing.T) {
	s := newStory(t)
	m := s.write(s.a, "general", "Observation", "x")
	s.mustDeny(s.b, m, consent.Treatment, "no consent")
	srv := api.New(noIndex{s.node.Node.API()})
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	want, err := s.c.AuditQuery(ctx, s.auditor, audit.Filter{Outcome: audit.Denied})
	s.must(err)
	q, err := s.c.NewAuditQuery(ctx, s.auditor, audit.Filter{Outcome: audit.Denied})
	s.must(err)
	rec := httptest.NewRecorder()
	body := fmt.Sprintf(`{"request":%q}`, base64.StdEncoding.EncodeToString(q.Encode()))
	srv.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/audit/query", strings.NewReader(body)))
	var got wire.AuditQueryResponse
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if len(got.Events) != 1 || len(want.Events) != 1 || got.Events[0].Index != want.Events[0].Index || got.Events[0].Record != m.RecordID {
		t.Fatalf("without index: %+v; with: %+v", got.Events, want.Events)
	}
}

// noIndex hides the node's AuditIndex method: only api.Backend's own methods show.
type noIndex struct{ api.Backend }
