package records

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/state/statetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// chart is a chain for the record handlers: provider dr registered patient pat, who
// published a general key; dr2 is a provider with no relation to pat, ins an insurer.
type chart struct {
	*statetest.Chain
	dr, dr2, pat, ins string
}

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func newChart(t *testing.T) *chart {
	c := &chart{Chain: statetest.New(t, t0)}
	c.dr, c.dr2, c.ins = c.Identity(identity.Provider, "St Mary", ""), c.Identity(identity.Provider, "City", ""), c.Identity(identity.Insurer, "Acme", "")
	c.pat = c.Identity(identity.Patient, "", c.dr)
	cat, _ := keys.Generate()
	c.Must(c.pat, func(s *state.Tx, e identity.Env) *tx.Error {
		return consent.ExecPublishKeys(s, e, c.pat, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cat.EncPublic()}}})
	})
	return c
}

func (c *chart) ok(signer string, f statetest.Handler) { c.T.Helper(); c.Must(signer, f) }

// put is a valid inline write of version v of record id for the patient.
func (c *chart) put(id string, v uint32, ct string) *PutBody {
	return &PutBody{Meta: Meta{RecordID: id, Version: v, Patient: c.pat, Category: "general", ResourceType: "Observation",
		ContentType: "application/fhir+json", Digest: sha256.Sum256([]byte(ct)), Size: uint64(len(ct)), CategoryVersion: 1,
		PatientWrap: make([]byte, wrapSize), AuthorKeyVersion: 1, AuthorWrap: make([]byte, wrapSize)}, Ciphertext: []byte(ct)}
}

func write(b *PutBody) func(*state.Tx, identity.Env) *tx.Error {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecPut(s, e, e.Signer.ID, b) }
}

// TestWriteRules: each rule a record write must satisfy, one at a time against a valid
// write by the provider who registered the patient. A refused write stores nothing.
func TestWriteRules(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	with := func(f func(*PutBody)) *PutBody { b := c.put("r2", 1, "second"); f(b); return b }
	for _, x := range []struct {
		name   string
		signer string
		b      *PutBody
		code   uint32
	}{
		{"a record id with a slash", c.dr, with(func(b *PutBody) { b.Meta.RecordID = "a/b" }), CodeInvalid},
		{"no resource type", c.dr, with(func(b *PutBody) { b.Meta.ResourceType = "" }), CodeInvalid},
		{"no category", c.dr, with(func(b *PutBody) { b.Meta.Category = "" }), CodeInvalid},
		{"for someone who is not a patient", c.dr, with(func(b *PutBody) { b.Meta.Patient = c.dr2 }), CodeNoPatient},
		{"for an unknown patient", c.dr, with(func(b *PutBody) { b.Meta.Patient = "nobody" }), CodeNoPatient},
		{"by a provider without care relationship or grant", c.dr2, with(func(b *PutBody) {}), CodeUnauthorized},
		{"by an insurer", c.ins, with(func(b *PutBody) {}), CodeUnauthorized},
		{"a new record not at version 1", c.dr, with(func(b *PutBody) { b.Meta.Version = 2 }), CodeVersion},
		{"an amendment overwriting version 1", c.dr, c.put("r1", 1, "again"), CodeVersion},
		{"an amendment skipping a version", c.dr, c.put("r1", 3, "later"), CodeVersion},
		{"a category without a key", c.dr, with(func(b *PutBody) { b.Meta.Category = "hiv" }), CodeKeyVersion},
		{"wrapped for a stale category key", c.dr, with(func(b *PutBody) { b.Meta.CategoryVersion = 0 }), CodeKeyVersion},
		{"wrapped for the author's stale key", c.dr, with(func(b *PutBody) { b.Meta.AuthorKeyVersion = 2 }), CodeKeyVersion},
		{"a short patient wrap", c.dr, with(func(b *PutBody) { b.Meta.PatientWrap = b.Meta.PatientWrap[:100] }), CodeInvalid},
		{"a short author wrap", c.dr, with(func(b *PutBody) { b.Meta.AuthorWrap = nil }), CodeInvalid},
		{"a size that is not the ciphertext's", c.dr, with(func(b *PutBody) { b.Meta.Size++ }), CodeDigest},
		{"an empty ciphertext", c.dr, with(func(b *PutBody) { b.Ciphertext, b.Meta.Size = nil, 0 }), CodeDigest},
		{"a ciphertext that is not the digest's", c.dr, with(func(b *PutBody) { b.Ciphertext = []byte("Second") }), CodeDigest},
		{"a blob record carrying inline bytes", c.dr, with(func(b *PutBody) { b.Meta.Blob, b.Meta.Size = true, InlineMax+1 }), CodeDigest},
		{"a blob small enough to be inline", c.dr, with(func(b *PutBody) { b.Meta.Blob, b.Ciphertext, b.Meta.Size = true, nil, InlineMax }), CodeDigest},
		{"a blob over the limit", c.dr, with(func(b *PutBody) { b.Meta.Blob, b.Ciphertext, b.Meta.Size = true, nil, MaxBlob+1 }), CodeDigest},
	} {
		c.Expect(x.name, Space, x.code, x.signer, write(x.b))
	}
	c.ok(c.dr, write(c.put("r1", 2, "amended")))
	c.ok(c.pat, write(c.put("mine", 1, "the patient's own note")))
	c.ok(c.dr, write(with(func(b *PutBody) { b.Meta.Blob, b.Ciphertext, b.Meta.Size = true, nil, InlineMax+1 })))
	if Head(c.Store, "r1") != 2 || Head(c.Store, "r2") != 1 || Head(c.Store, "none") != 0 {
		t.Fatal("heads after the writes are wrong")
	}
	m := Version(c.Store, "r1", 2)
	if m.Author != c.dr || m.Height == 0 || m.Time == 0 || string(Ciphertext(c.Store, m)) != "amended" {
		t.Fatalf("version 2 stored as %+v", m)
	}
	if Ciphertext(c.Store, Version(c.Store, "r2", 1)) != nil {
		t.Fatal("a blob record's ciphertext was stored inline")
	}
	if string(Ciphertext(c.Store, Version(c.Store, "r1", 1))) != "first" {
		t.Fatal("an amendment lost the earlier version's ciphertext")
	}
}

// TestWriteEventsAreCheckable: each write leaves an audit event whose digest the stored
// metadata matches (CheckWritten), and editing the stored metadata afterwards is found.
func TestWriteEventsAreCheckable(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	c.ok(c.dr, write(c.put("r1", 2, "second")))
	v := c.Commit()
	var writes []*audit.Event
	for i := range v.LogSize() {
		raw, _ := v.Leaf(i)
		ev, err := audit.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if IsWrite(ev) {
			writes = append(writes, ev)
		}
	}
	if len(writes) != 2 || writes[0].Action != audit.RecordWrite || writes[1].Action != audit.RecordAmend ||
		writes[1].Rule != string(access.Care) || writes[1].Actor != c.dr || writes[1].Organization != "St Mary" {
		t.Fatalf("write events %+v", writes)
	}
	for _, ev := range writes {
		if err := CheckWritten(v.GetIndex, ev); err != nil {
			t.Fatalf("an untouched write does not check: %v", err)
		}
	}
	// Tamper with version 1's stored metadata (in its record entry): its author is rewritten.
	get := func(key []byte) []byte {
		b := v.GetIndex(key)
		if !bytes.HasPrefix(key, []byte("rw/")) {
			return b
		}
		n, k := binary.Uvarint(b)
		if m, err := DecodeMeta(b[k : k+int(n)]); err == nil && m.RecordID == "r1" && m.Version == 1 {
			m.Author = c.dr2
			return recordEntry(m.Encode(), b[k+int(n):])
		}
		return b
	}
	err := CheckWritten(get, writes[0])
	if _, ok := err.(*IndexDamage); !ok {
		t.Fatalf("edited metadata not found: %v", err)
	}
	if err := CheckWritten(get, writes[1]); err != nil {
		t.Fatalf("the other version's check should be untouched: %v", err)
	}
}

// request signs a read request by who, valid for five minutes from the block time next.
func (c *chart) request(who, record, purpose string) *ReadRequest {
	q := &ReadRequest{ChainID: "c", Requester: who, Patient: c.pat, Record: record, Purpose: purpose,
		NotAfter: c.Time.Add(5 * time.Minute).Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(c.Keys[who].Sign)
	return q
}

// verifyStd checks a request's signature with the standard library (the node supplies its
// own rule, which accepts everything this does).
func verifyStd(_ int, q *ReadRequest, pub ed25519.PublicKey) bool {
	return ed25519.Verify(pub, q.SignBytes(), q.Signature)
}

func (c *chart) readBatch(qs ...*ReadRequest) {
	c.T.Helper()
	c.Must("", func(s *state.Tx, e identity.Env) *tx.Error {
		ExecReadBatch(s, e, "c", &ReadBatch{Requests: qs}, verifyStd, nil)
		return nil
	})
}

// TestReadBatchDecidesAndRecords: every authentic request is decided and recorded, allowed
// or not; a void one (another chain, expired, too far ahead, forged, replayed, unknown
// requester) leaves no outcome and no event, since it is no access attempt by anyone.
func TestReadBatchDecidesAndRecords(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	allowed := c.request(c.pat, "r1", access.Treatment)
	denied := c.request(c.dr2, "r1", access.Treatment)
	list := c.request(c.pat, "", access.Treatment)
	otherChain := c.request(c.pat, "r1", access.Treatment)
	otherChain.ChainID = "d"
	otherChain.Sign(c.Keys[c.pat].Sign)
	expired := c.request(c.pat, "r1", access.Treatment)
	expired.NotAfter = t0.Unix()
	expired.Sign(c.Keys[c.pat].Sign)
	farAhead := c.request(c.pat, "r1", access.Treatment)
	farAhead.NotAfter = t0.Add(time.Hour).Unix()
	farAhead.Sign(c.Keys[c.pat].Sign)
	forged := c.request(c.pat, "r1", access.Treatment)
	forged.Record = "r2" // altered after signing
	byStranger := c.request(c.pat, "r1", access.Treatment)
	byStranger.Requester = "0000000000000000000000000000000000000000"

	events := func() uint64 { t.Helper(); return c.Commit().LogSize() }
	before := events()
	c.readBatch(allowed, denied, list, otherChain, expired, farAhead, forged, byStranger)
	if got := events() - before; got != 3 {
		t.Fatalf("%d events recorded, want 3 (allowed, denied, list)", got)
	}
	for _, x := range []struct {
		name    string
		q       *ReadRequest
		allowed bool
		rule    access.Code
	}{
		{"the patient's own record", allowed, true, access.Self},
		{"a provider without a grant", denied, false, access.NoConsent},
		{"the patient's list", list, true, access.Self},
	} {
		o := Result(c.Store, x.q)
		if o == nil || o.Allowed != x.allowed || o.Rule != string(x.rule) || o.Height != c.Height {
			t.Errorf("%s: outcome %+v, want allowed=%v rule=%s", x.name, o, x.allowed, x.rule)
		}
	}
	if o := Result(c.Store, allowed); o.Version != 1 {
		t.Errorf("an allowed read names version %d, want 1", o.Version)
	}
	for name, q := range map[string]*ReadRequest{"another chain": otherChain, "expired": expired, "too far ahead": farAhead,
		"forged": forged, "unknown requester": byStranger} {
		if Result(c.Store, q) != nil {
			t.Errorf("%s: a void request has an outcome", name)
		}
	}
	// A replay of a decided request is void: one request, one event.
	before = events()
	c.readBatch(allowed)
	if events() != before {
		t.Fatal("a replayed read request was recorded again")
	}
}

// TestReadRequestHasOneEncoding: a request round-trips, its hash changes with any field,
// and a batch refuses bytes that are not exactly its requests.
func TestReadRequestHasOneEncoding(t *testing.T) {
	kp, _ := keys.Generate()
	q := &ReadRequest{ChainID: "c", Requester: "a", Patient: "p", Record: "r1", Purpose: "treatment", NotAfter: 99}
	q.Nonce[0] = 7
	q.Sign(kp.Sign)
	got, err := DecodeReadRequest(q.Encode())
	if err != nil || got.Hash() != q.Hash() || got.Record != "r1" || got.Nonce != q.Nonce {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := *q
	other.Purpose = "research"
	if other.Hash() == q.Hash() {
		t.Fatal("a changed purpose keeps the request's hash")
	}
	w := tx.NewWriter(64)
	(&ReadBatch{Requests: []*ReadRequest{q, q}}).Encode(w)
	if b, err := DecodeReadBatch(w.Bytes()); err != nil || len(b.Requests) != 2 {
		t.Fatalf("batch round trip: %v", err)
	}
	for name, raw := range map[string][]byte{
		"an empty batch":     {0},
		"a trailing byte":    append(bytes.Clone(w.Bytes()), 0),
		"a truncated batch":  w.Bytes()[:len(w.Bytes())-1],
		"an audit query":     append([]byte{1}, (&audit.QueryRequest{ChainID: "c"}).Encode()...),
		"more than MaxBatch": binaryUvarint(MaxBatch + 1),
	} {
		if _, err := DecodeReadBatch(raw); err == nil {
			t.Errorf("%s decoded as a read batch", name)
		}
	}
}

func binaryUvarint(n uint64) []byte {
	w := tx.NewWriter(10)
	w.Uvarint(n)
	return w.Bytes()
}

// TestReadBatchDecidesEachRequesterAndPurposeApart: in one batch, requests by one requester
// about one patient for different purposes, and by another requester for the same purpose,
// are each decided on their own facts (the batch looks each requester and their facts up
// once, and must not hand one request's facts to another).
func TestReadBatchDecidesEachRequesterAndPurposeApart(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	treat := c.request(c.dr, "r1", access.Treatment)
	research := c.request(c.dr, "r1", access.Research)
	treatAgain := c.request(c.dr, "r1", access.Treatment)
	other := c.request(c.dr2, "r1", access.Treatment)
	c.readBatch(treat, research, other, treatAgain)
	for _, x := range []struct {
		name    string
		q       *ReadRequest
		allowed bool
	}{
		{"the author, for treatment", treat, true},
		{"the author, for research", research, false},
		{"another provider, for treatment", other, false},
		{"the author again, after both refusals", treatAgain, true},
	} {
		if o := Result(c.Store, x.q); o == nil || o.Allowed != x.allowed {
			t.Errorf("%s: outcome %+v, want allowed=%v", x.name, o, x.allowed)
		}
	}
}

// TestLargeReadBatchDecidesAsSmallOnes: a batch of hundreds of requests (its requesters and
// their facts looked up once) decides every request as a batch of one of each kind did,
// records a request repeated within it once, and records nothing for a request recorded by
// an earlier batch.
func TestLargeReadBatchDecidesAsSmallOnes(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r1", 1, "first")))
	kinds := []func() *ReadRequest{
		func() *ReadRequest { return c.request(c.dr, "r1", access.Treatment) },
		func() *ReadRequest { return c.request(c.dr2, "r1", access.Treatment) },
		func() *ReadRequest { return c.request(c.dr, "r1", access.Research) },
		func() *ReadRequest { return c.request(c.pat, "", access.Treatment) },
		func() *ReadRequest { return c.request(c.dr, "missing", access.Treatment) },
	}
	var small []*ReadRequest
	for _, k := range kinds {
		small = append(small, k())
	}
	c.readBatch(small...)
	want := make([]*Outcome, len(small))
	for i, q := range small {
		if want[i] = Result(c.Store, q); want[i] == nil {
			t.Fatalf("kind %d: no outcome in the small batch", i)
		}
	}
	var large []*ReadRequest
	for i := range 60 * len(kinds) {
		large = append(large, kinds[i%len(kinds)]())
	}
	large = append(large, large[7], small[0]) // repeated within the batch; recorded before
	before := c.Commit().LogSize()
	c.readBatch(large...)
	if got, n := c.Commit().LogSize()-before, uint64(60*len(kinds)); got != n {
		t.Fatalf("%d events for %d distinct new requests", got, n)
	}
	for i, q := range large[:60*len(kinds)] {
		o, w := Result(c.Store, q), want[i%len(kinds)]
		if o == nil || o.Allowed != w.Allowed || o.Rule != w.Rule || o.Version != w.Version || o.Reason != w.Reason {
			t.Fatalf("request %d (kind %d): %+v, want as in the small batch %+v", i, i%len(kinds), o, w)
		}
	}
	if o := Result(c.Store, small[0]); o.Height != want[0].Height || o.Tx != want[0].Tx {
		t.Fatal("a request recorded by an earlier batch was recorded again")
	}
}
