package app

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// erasureCast: a patient with general and mental-health keys, a provider granted reads of
// both (with key shares), one record in each category written by the provider.
type erasureCast struct {
	cast
	shares map[string][]byte // category -> the provider's wrapped key share
	cts    map[string][]byte // record id -> ciphertext
}

func newErasureCast(h *harness) *erasureCast {
	c := &erasureCast{cast: h.registerCast(), shares: map[string][]byte{}, cts: map[string][]byte{}}
	var pub []consent.CategoryKey
	for _, cat := range []string{"general", "mental-health"} {
		k, err := keys.Generate()
		if err != nil {
			h.t.Fatal(err)
		}
		c.patient.AddCategoryKey(cat, 1, k.Enc)
		pub = append(pub, consent.CategoryKey{Category: cat, Version: 1, EncKey: k.EncPublic()})
	}
	h.mustOK(h.sign(c.patient, &consent.PublishKeysBody{Keys: pub}))
	var ks []consent.KeyShare
	for _, cat := range []string{"general", "mental-health"} {
		s := make([]byte, 1168)
		rand.Read(s)
		c.shares[cat] = s
		ks = append(ks, consent.KeyShare{Category: cat, Version: 1, Recipient: c.provider.ID, Wrapped: s})
	}
	h.mustOK(h.sign(c.patient, &consent.GrantBody{Grant: consent.Grant{Grantee: c.provider.ID,
		Actions: []string{"read", "write"}, Purposes: []string{"treatment"}, KeyShares: ks}}))
	c.write(h, "r-gen", "general", pub[0])
	c.write(h, "r-mh", "mental-health", pub[1])
	return c
}

func (c *erasureCast) write(h *harness, id, cat string, ck consent.CategoryKey) {
	h.t.Helper()
	signed, ct := c.put(h, id, 1, cat, ck, "plaintext of "+id+" that must be forgotten")
	h.mustOK(signed)
	c.cts[id] = ct
}

// put is the provider's signed write of version v of record id, sealing plaintext under
// category key ck, and its ciphertext.
func (c *erasureCast) put(h *harness, id string, v uint32, cat string, ck consent.CategoryKey, plaintext string) (signed, ct []byte) {
	h.t.Helper()
	aad := envelope.AAD(id, v, c.patient.ID, cat)
	dk, ct, err := envelope.Seal([]byte(plaintext), aad)
	if err != nil {
		h.t.Fatal(err)
	}
	m := records.Meta{RecordID: id, Version: v, Patient: c.patient.ID, Category: cat, ResourceType: "Observation",
		ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: ck.Version,
		AuthorKeyVersion: h.identity(c.provider.ID).KeyVersion}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		h.t.Fatal(err)
	}
	if m.AuthorWrap, err = envelope.WrapKey(c.provider.Keys.EncPublic(), dk, aad); err != nil {
		h.t.Fatal(err)
	}
	return h.sign(c.provider, &records.PutBody{Meta: m, Ciphertext: ct}), ct
}

// read runs one signed read of record id by who and returns its committed outcome.
func (h *harness) readRecord(who *keys.Keystore, patient, id string) *records.Outcome {
	h.t.Helper()
	q := h.readReq(who, patient, h.nextTime().Add(time.Minute))
	q.Record = id
	q.Sign(who.Keys.Sign)
	h.mustOK(batchTx(q))
	return records.Result(h.st.Committed(), q)
}

func (h *harness) wantCode(ks *keys.Keystore, body tx.Body, space string, code uint32) {
	h.t.Helper()
	r := h.block(h.sign(ks, body))[0]
	if r.Code != 0 {
		h.seqs[ks.ID]-- // a rejected transaction does not use its sequence
	}
	if r.Codespace != space || r.Code != code {
		h.t.Fatalf("want %s/%d, got %s/%d %s", space, code, r.Codespace, r.Code, r.Log)
	}
}

// TestEraseRecordStory: the provider reads, the patient erases, the provider's next read is
// denied as erased, the audit trail still shows the first read, and the record's ciphertext
// and wrapped keys are gone from the state database once it is compacted.
func TestEraseRecordStory(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	if out := h.readRecord(c.provider, c.patient.ID, "r-gen"); !out.Allowed {
		t.Fatalf("provider's first read denied: %s", out.Reason)
	}
	v := h.st.Committed()
	m := records.Version(v, "r-gen", 1)
	wraps := [][]byte{m.PatientWrap, m.AuthorWrap}

	// Only the patient erases their records.
	h.wantCode(c.provider, &erasure.EraseBody{Record: "r-gen"}, string(erasure.Space), erasure.CodeUnauthorized)
	h.wantCode(c.patient, &erasure.EraseBody{Record: "r-gen", Chart: true}, string(erasure.Space), erasure.CodeInvalid)
	h.wantCode(c.patient, &erasure.EraseBody{Record: "nope"}, string(erasure.Space), erasure.CodeNotFound)
	h.mustOK(h.sign(c.patient, &erasure.EraseBody{Record: "r-gen"}))
	h.wantCode(c.patient, &erasure.EraseBody{Record: "r-gen"}, string(erasure.Space), erasure.CodeErased)

	v = h.st.Committed()
	if records.Version(v, "r-gen", 1) != nil || records.Ciphertext(v, m) != nil {
		t.Fatal("erased record's metadata or ciphertext still readable from the index")
	}
	tomb := records.Erased(v, "r-gen")
	if tomb == nil || tomb.Versions[0].Digest == "" || tomb.By != c.patient.ID {
		t.Fatalf("tombstone %+v", tomb)
	}
	// Everyone, the patient included, is told it is erased.
	for _, who := range []*keys.Keystore{c.provider, c.patient} {
		if out := h.readRecord(who, c.patient.ID, "r-gen"); out.Allowed || out.Rule != string(access.Erased) {
			t.Fatalf("read of erased record by %s: %+v", who.ID, out)
		}
	}
	// Its id is never written again.
	ck := consent.CurrentKey(v, c.patient.ID, "general")
	aad := envelope.AAD("r-gen", 2, c.patient.ID, "general")
	_, ct, _ := envelope.Seal([]byte("x"), aad)
	w2 := records.Meta{RecordID: "r-gen", Version: 2, Patient: c.patient.ID, Category: "general", ResourceType: "Observation",
		ContentType: "text/plain", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: ck.Version,
		PatientWrap: make([]byte, 1168), AuthorWrap: make([]byte, 1168), AuthorKeyVersion: 1}
	h.wantCode(c.patient, &records.PutBody{Meta: w2, Ciphertext: ct}, string(records.Space), records.CodeErased)
	// The other record is untouched.
	if out := h.readRecord(c.provider, c.patient.ID, "r-mh"); !out.Allowed {
		t.Fatalf("the other record: %s", out.Reason)
	}

	// The audit trail keeps the write, the read before the erasure and the erasure.
	var actions []string
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, _ := v.Leaf(i)
		ev, _ := audit.Decode(leaf)
		if ev.Record == "r-gen" {
			actions = append(actions, ev.Action+"/"+ev.Outcome+"/"+ev.Actor[:6])
		}
	}
	want := []string{audit.RecordWrite + "/success/" + c.provider.ID[:6], audit.RecordRead + "/success/" + c.provider.ID[:6],
		audit.RecordErase + "/success/" + c.patient.ID[:6]}
	if len(actions) < 3 || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Fatalf("audit trail of r-gen: %v, want it to start %v", actions, want)
	}

	// Once the node has shredded the erasure (by itself: no operator compaction), the state
	// database still checks against the log (the tombstone keeps the digest)...
	h.waitShredded()
	h.reopen()
	// ...and no file under the state directory holds the ciphertext or a wrapped key.
	secret := map[string][]byte{"ciphertext": c.cts["r-gen"], "patient wrap": wraps[0], "author wrap": wraps[1]}
	for what, b := range secret {
		if f := grepDir(t, h.dir, b); f != "" {
			t.Errorf("the erased record's %s is still in %s", what, f)
		}
	}
	if grepDir(t, h.dir, c.cts["r-mh"]) == "" {
		t.Fatal("the grep finds nothing at all: the kept record's ciphertext should be there")
	}
}

// grepDir names the first file under dir holding b, or "".
func grepDir(t *testing.T, dir string, b []byte) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, b) {
			found = p
		}
		return nil
	})
	return found
}

// TestLegalHoldBlocksErasure: an auditor's hold refuses the patient's erasure with a code
// and erases nothing; lifting it (audited) lets the erasure through. Only auditors and the
// registrar hold.
func TestLegalHoldBlocksErasure(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	es := string(erasure.Space)
	h.wantCode(c.provider, &erasure.HoldBody{Patient: c.patient.ID, Reason: "litigation"}, es, erasure.CodeUnauthorized)
	h.wantCode(c.patient, &erasure.HoldBody{Patient: c.patient.ID, Reason: "mine"}, es, erasure.CodeUnauthorized)
	h.wantCode(c.auditor, &erasure.HoldBody{Patient: c.patient.ID}, es, erasure.CodeInvalid)
	h.wantCode(c.auditor, &erasure.HoldBody{Patient: c.patient.ID, Record: "nope", Reason: "x"}, es, erasure.CodeNotFound)

	// A hold on one record blocks erasing it, its category and the chart, not the other record.
	h.mustOK(h.sign(c.auditor, &erasure.HoldBody{Patient: c.patient.ID, Record: "r-gen", Reason: "subpoena 12"}))
	holds := erasure.Holds(h.st.Committed(), c.patient.ID)
	if len(holds) != 1 || !holds[0].Active() {
		t.Fatalf("holds %+v", holds)
	}
	for _, b := range []*erasure.EraseBody{{Record: "r-gen"}, {Category: "general"}, {Chart: true}} {
		h.wantCode(c.patient, b, es, erasure.CodeHeld)
	}
	if records.Version(h.st.Committed(), "r-gen", 1) == nil || consent.CurrentKey(h.st.Committed(), c.patient.ID, "general") == nil {
		t.Fatal("a refused erasure changed state")
	}
	// A chart-wide hold by the registrar blocks even the unheld record.
	h.mustOK(h.sign(h.reg, &erasure.HoldBody{Patient: c.patient.ID, Reason: "regulator inquiry"}))
	h.wantCode(c.patient, &erasure.EraseBody{Record: "r-mh"}, es, erasure.CodeHeld)

	for _, hd := range erasure.Holds(h.st.Committed(), c.patient.ID) {
		h.wantCode(c.provider, &erasure.LiftBody{Patient: c.patient.ID, Hold: hd.ID, Reason: "done"}, es, erasure.CodeUnauthorized)
		h.mustOK(h.sign(c.auditor, &erasure.LiftBody{Patient: c.patient.ID, Hold: hd.ID, Reason: "case closed"}))
		h.wantCode(c.auditor, &erasure.LiftBody{Patient: c.patient.ID, Hold: hd.ID, Reason: "again"}, es, erasure.CodeLifted)
	}
	h.mustOK(h.sign(c.patient, &erasure.EraseBody{Record: "r-gen"}))

	var trail []string
	v := h.st.Committed()
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, _ := v.Leaf(i)
		if ev, _ := audit.Decode(leaf); ev.Action == audit.HoldPlace || ev.Action == audit.HoldLift || ev.Action == audit.RecordErase {
			trail = append(trail, ev.Action)
		}
	}
	want := []string{audit.HoldPlace, audit.HoldPlace, audit.HoldLift, audit.HoldLift, audit.RecordErase}
	if len(trail) != len(want) {
		t.Fatalf("hold trail %v, want %v", trail, want)
	}
}

// TestEraseCategoryDropsKeys: a category erasure drops the category's records, its published
// key and the provider's key share, keeps the other category, and the next key published
// for the category takes the next version.
func TestEraseCategoryDropsKeys(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	h.mustOK(h.sign(c.patient, &erasure.EraseBody{Category: "mental-health"}))
	v := h.st.Committed()
	if records.Erased(v, "r-mh") == nil || records.Erased(v, "r-gen") != nil {
		t.Fatal("category erasure erased the wrong records")
	}
	if consent.CurrentKey(v, c.patient.ID, "mental-health") != nil || consent.CurrentKey(v, c.patient.ID, "general") == nil {
		t.Fatal("category erasure dropped the wrong keys")
	}
	for _, g := range consent.List(v, c.patient.ID) {
		for _, s := range g.KeyShares {
			if s.Category == "mental-health" {
				t.Fatal("a grant still carries a key share for the erased category")
			}
		}
	}
	// The old grantee, old share in hand, gets nothing.
	if out := h.readRecord(c.provider, c.patient.ID, "r-mh"); out.Allowed || out.Rule != string(access.Erased) {
		t.Fatalf("old grantee's read: %+v", out)
	}
	k, _ := keys.Generate()
	h.wantCode(c.patient, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "mental-health", Version: 1, EncKey: k.EncPublic()}}},
		string(consent.Space), consent.CodeKeyVersion)
	h.mustOK(h.sign(c.patient, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "mental-health", Version: 2, EncKey: k.EncPublic()}}}))

	h.waitShredded()
	h.reopen()
	if f := grepDir(t, h.dir, c.cts["r-mh"]); f != "" {
		t.Errorf("the erased category's ciphertext is still in %s", f)
	}
	// The key share (JSON, so base64) is gone from the current map but still in the map's
	// older versions until they are pruned: what the threat model says.
	share := []byte(base64.StdEncoding.EncodeToString(c.shares["mental-health"]))
	if grepDir(t, h.dir, share) == "" {
		t.Log("the erased key share is in no old state version either")
	}
	// The whole chart next; replaying every block, erasures included, gives the same hashes.
	h.mustOK(h.sign(c.patient, &erasure.EraseBody{Chart: true}))
	if ids := records.PatientRecords(h.st.Committed(), c.patient.ID); len(ids) != 0 || len(consent.Categories(h.st.Committed(), c.patient.ID)) != 0 {
		t.Fatalf("after erasing the chart: records %v, categories %v", ids, consent.Categories(h.st.Committed(), c.patient.ID))
	}
	replayHashes(t, h)
}
