package app

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/records"
)

const day = 24 * time.Hour

// amend writes version v of record id (an amendment when v > 1) with the category's
// current key.
func (c *erasureCast) amend(h *harness, id, cat string, v uint32) {
	h.t.Helper()
	ck := consent.CurrentKey(h.st.Committed(), c.patient.ID, cat)
	aad := envelope.AAD(id, v, c.patient.ID, cat)
	dk, ct, err := envelope.Seal([]byte("amended text of "+id), aad)
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
	h.mustOK(h.sign(c.provider, &records.PutBody{Meta: m, Ciphertext: ct}))
	c.cts[id] = ct
}

func dueIDs(ds []*erasure.Due) string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.Record)
	}
	return strings.Join(ids, ",")
}

// TestRetentionExpiresRecordsByAge: the registrar sets a category's period; a record is
// refused expiry until its last write is that old, and while a legal hold keeps it; an
// amendment restarts its clock; an expired record reads as erased with its ciphertext gone
// and the trail of who read it intact; the replay of every block gives the same app hash.
func TestRetentionExpiresRecordsByAge(t *testing.T) {
	h := newHarness(t)
	c := newErasureCast(h)
	es := string(erasure.Space)
	if out := h.readRecord(c.provider, c.patient.ID, "r-gen"); !out.Allowed {
		t.Fatalf("provider's read denied: %s", out.Reason)
	}

	// Only the registrar sets a period, and only a sensible one with a reason.
	h.wantCode(c.auditor, &erasure.SetRetentionBody{Category: "general", Days: 30, Reason: "statute"}, es, erasure.CodeUnauthorized)
	h.wantCode(c.patient, &erasure.SetRetentionBody{Category: "general", Days: 30, Reason: "statute"}, es, erasure.CodeUnauthorized)
	h.wantCode(h.reg, &erasure.SetRetentionBody{Category: "General!", Days: 30, Reason: "statute"}, es, erasure.CodeInvalid)
	h.wantCode(h.reg, &erasure.SetRetentionBody{Category: "general", Days: erasure.MaxRetentionDays + 1, Reason: "statute"}, es, erasure.CodeInvalid)
	h.wantCode(h.reg, &erasure.SetRetentionBody{Category: "general", Days: -1, Reason: "statute"}, es, erasure.CodeInvalid)
	h.wantCode(h.reg, &erasure.SetRetentionBody{Category: "general", Days: 30}, es, erasure.CodeInvalid)
	h.wantCode(h.reg, &erasure.SetRetentionBody{Category: "general", Reason: "nothing to remove"}, es, erasure.CodeNotFound)
	h.mustOK(h.sign(h.reg, &erasure.SetRetentionBody{Category: "general", Days: 30, Reason: "state statute, 30 days in this test"}))
	if ps := erasure.Policies(h.st.Committed()); len(ps) != 1 || ps[0].Days != 30 || ps[0].SetBy != h.reg.ID {
		t.Fatalf("policies %+v", ps)
	}

	// Not yet due; and no policy covers mental-health.
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen"}}, es, erasure.CodeNotDue)
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-mh"}}, es, erasure.CodeNotDue)
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"nope"}}, es, erasure.CodeNotFound)
	if due, held := erasure.FindDue(h.st.Committed(), h.nextTime(), "", 0); len(due)+len(held) != 0 {
		t.Fatalf("due before the period ended: %s / %s", dueIDs(due), dueIDs(held))
	}

	// 31 days on. Only the registrar expires; a legal hold keeps the record.
	h.clock += 31 * day
	if due, _ := erasure.FindDue(h.st.Committed(), h.nextTime(), "", 0); dueIDs(due) != "r-gen" {
		t.Fatalf("due after 31 days: %q, want r-gen", dueIDs(due))
	}
	h.wantCode(c.patient, &erasure.ExpireBody{Records: []string{"r-gen"}}, es, erasure.CodeUnauthorized)
	h.wantCode(h.reg, &erasure.ExpireBody{}, es, erasure.CodeInvalid)
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen", "r-gen"}}, es, erasure.CodeInvalid)
	h.mustOK(h.sign(c.auditor, &erasure.HoldBody{Patient: c.patient.ID, Record: "r-gen", Reason: "subpoena 7"}))
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen"}}, es, erasure.CodeHeld)
	if due, held := erasure.FindDue(h.st.Committed(), h.nextTime(), "", 0); len(due) != 0 || dueIDs(held) != "r-gen" {
		t.Fatalf("under hold: due %q, held %q", dueIDs(due), dueIDs(held))
	}
	hold := erasure.Holds(h.st.Committed(), c.patient.ID)[0]
	h.mustOK(h.sign(c.auditor, &erasure.LiftBody{Patient: c.patient.ID, Hold: hold.ID, Reason: "case closed"}))

	// All or nothing: one record not due refuses the whole expiry.
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen", "r-mh"}}, es, erasure.CodeNotDue)
	if records.Version(h.st.Committed(), "r-gen", 1) == nil {
		t.Fatal("a refused expiry erased a record")
	}
	m := records.Version(h.st.Committed(), "r-gen", 1)
	h.mustOK(h.sign(h.reg, &erasure.ExpireBody{Records: []string{"r-gen"}}))
	v := h.st.Committed()
	if records.Version(v, "r-gen", 1) != nil || records.Ciphertext(v, m) != nil {
		t.Fatal("the expired record's metadata or ciphertext is still in state")
	}
	tomb := records.Erased(v, "r-gen")
	if tomb == nil || tomb.By != "retention" || !strings.Contains(tomb.Reason, "30 days") {
		t.Fatalf("tombstone %+v", tomb)
	}
	if out := h.readRecord(c.provider, c.patient.ID, "r-gen"); out.Allowed || out.Rule != "erased" {
		t.Fatalf("read after expiry: allowed=%v rule=%s", out.Allowed, out.Rule)
	}
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen"}}, es, erasure.CodeErased)
	var trail []string
	v = h.st.Committed()
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, _ := v.Leaf(i)
		ev, _ := audit.Decode(leaf)
		if ev.Record == "r-gen" && (ev.Action == audit.RecordRead || ev.Action == audit.RecordExpire) {
			trail = append(trail, ev.Action+"/"+ev.Outcome+"/"+ev.Actor[:6])
		}
		if ev.Action == audit.RecordExpire && (ev.Digest != tomb.Digest() || ev.Category != "general") {
			t.Fatalf("expire event %+v does not carry the tombstone's digest and category", ev)
		}
	}
	want := []string{audit.RecordRead + "/success/" + c.provider.ID[:6], audit.RecordExpire + "/success/" + h.reg.ID[:6],
		audit.RecordRead + "/denied/" + c.provider.ID[:6]}
	if strings.Join(trail, " ") != strings.Join(want, " ") {
		t.Fatalf("trail of r-gen:\n got %v\nwant %v", trail, want)
	}

	// An amendment restarts the clock: written, amended 20 days later, then 15 days on it is
	// 35 days old by its first version and 15 by its newest: kept.
	c.amend(h, "r-gen2", "general", 1)
	h.clock += 20 * day
	c.amend(h, "r-gen2", "general", 2)
	h.clock += 15 * day
	h.wantCode(h.reg, &erasure.ExpireBody{Records: []string{"r-gen2"}}, es, erasure.CodeNotDue)

	// A default period for every other category: mental-health, written 66 days ago, is due.
	h.mustOK(h.sign(h.reg, &erasure.SetRetentionBody{Category: erasure.AnyCategory, Days: 60, Reason: "network default"}))
	if due, _ := erasure.FindDue(h.st.Committed(), h.nextTime(), "", 0); dueIDs(due) != "r-mh" {
		t.Fatalf("due with the default: %q, want r-mh", dueIDs(due))
	}
	if due, _ := erasure.FindDue(h.st.Committed(), h.nextTime(), "r-mh", 0); len(due) != 0 {
		t.Fatalf("due after r-mh: %q, want none", dueIDs(due))
	}
	h.mustOK(h.sign(h.reg, &erasure.ExpireBody{Records: []string{"r-mh"}}))
	// Removing a category's own period leaves the default in force.
	h.mustOK(h.sign(h.reg, &erasure.SetRetentionBody{Category: "general", Days: 0, Reason: "repealed"}))
	if p := erasure.PolicyFor(erasure.Policies(h.st.Committed()), "general"); p == nil || p.Category != erasure.AnyCategory {
		t.Fatalf("general is now governed by %+v, want the default", p)
	}

	replayHashes(t, h)
}

// TestGenesisRetention: a genesis may set periods; a bad one is refused before the chain starts.
func TestGenesisRetention(t *testing.T) {
	reg := newKS(t, "registrar")
	for _, bad := range [][]erasure.RetentionRule{
		{{Category: "general", Days: 0}},
		{{Category: "general", Days: 10}, {Category: "general", Days: 20}},
		{{Category: "Bad Cat", Days: 10}},
		{{Category: "*", Days: erasure.MaxRetentionDays + 1}},
	} {
		if _, err := ParseGenesis(genesisWith(t, reg, Params{Retention: bad})); err == nil {
			t.Fatalf("genesis with retention %+v accepted", bad)
		}
	}
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{AllowNoop: true, OpenRegistration: true,
		Retention: []erasure.RetentionRule{{Category: "general", Days: 3650, Reason: "ten years"}, {Category: "*", Days: 7300}}}))
	h.mustOK(h.sign(reg, &Noop{}))
	ps := erasure.Policies(h.st.Committed())
	if len(ps) != 2 || ps[0].Category != "*" || ps[0].Days != 7300 || ps[1].Category != "general" || ps[1].SetBy != "genesis" {
		t.Fatalf("genesis policies %+v", ps)
	}
}
