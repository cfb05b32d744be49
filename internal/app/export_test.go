package app

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// sponsorReadGrant is patient's research read grant to the sponsor on cats, carrying a key
// share for each (the contract checks their presence and size; it cannot open them).
func sponsorReadGrant(h *harness, patient *keys.Keystore, sponsor string, cats ...string) []byte {
	var ks []consent.KeyShare
	for _, c := range cats {
		s := make([]byte, 1168)
		rand.Read(s)
		ks = append(ks, consent.KeyShare{Category: c, Version: 1, Recipient: sponsor, Wrapped: s})
	}
	return h.sign(patient, &consent.GrantBody{Grant: consent.Grant{Grantee: sponsor, Scope: consent.Scope{Categories: cats},
		Actions: []string{consent.Read}, Purposes: []string{consent.Research}, KeyShares: ks}})
}

// sponsorDataset is the dataset the sponsor may read as of the last height, judged at the
// next block's time: what its client builds and exports.
func sponsorDataset(h *harness, sponsor string) (trials.Dataset, []byte) {
	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	d := trials.BuildDataset(tr.ID, h.height, trials.DatasetFacts(r, tr, identity.Get(r, sponsor), genesisTime.Add(time.Duration(h.height+1)*time.Second)))
	return d, d.Encode()
}

func exportOf(d trials.Dataset, file []byte) *trials.ExportBody {
	return &trials.ExportBody{Trial: d.Trial, AsOf: d.AsOf, Dataset: trials.DatasetDigest(file), Participants: d.Participants,
		Records: d.Records, Sign: trials.Sign{Meaning: trials.Author, Reason: "interim analysis"}}
}

// TestDatasetExport: the sponsor's dataset holds only the observations its research read
// grants cover, names participants by code and holds no identity or record id; the export
// event's digest is the file's, the contract refuses a digest or a count that is not the
// dataset consent allows, and after a withdrawal the participant's data leaves the
// dataset.
func TestDatasetExport(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast() // c.provider is the site investigator
	spon := newKS(t, "acme-research")
	ps := []*keys.Keystore{c.patient, newKS(t, "p2"), newKS(t, "p3")}
	h.mustOK(h.sign(h.reg, registration(spon, identity.Provider, "Acme Research", "SP-1")))
	cks := map[string]map[string]consent.CategoryKey{}
	for i, p := range ps {
		if i > 0 {
			h.mustOK(h.sign(p, registration(p, identity.Patient, "", "")))
		}
		cks[p.ID] = publishKeys(h, p, "general", "genetic")
	}
	registeredTrialBy(h, spon, c.provider, c.auditor)
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v1", "general", "genetic")))
	for _, p := range ps {
		h.mustOK(researchGrant(h, p, c.provider.ID))
		h.mustOK(h.sign(c.provider, &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}))
	}
	// What the sponsor may read: all of the first participant's, the second's general
	// records only, nothing of the third's.
	h.mustOK(sponsorReadGrant(h, ps[0], spon.ID, "general", "genetic"), sponsorReadGrant(h, ps[1], spon.ID, "general"))
	var ids []string
	for _, p := range ps {
		for _, cat := range []string{"general", "genetic"} {
			id := "obs-" + p.Name + "-" + cat
			h.mustOK(h.sign(c.provider, observation(h, c.provider, p.ID, cks[p.ID][cat], id, "value "+id)))
			ids = append(ids, id)
		}
	}
	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	digestOf := map[string]string{} // record id -> ciphertext digest
	for _, o := range trials.Observations(r, tr) {
		digestOf[o.Record] = o.Digest
	}

	d, file := sponsorDataset(h, spon.ID)
	if d.Participants != 2 || d.Records != 3 {
		t.Fatalf("dataset: %d participants, %d records; want 2 and 3", d.Participants, d.Records)
	}
	var got []string
	for _, row := range d.Rows {
		got = append(got, row.Digest)
	}
	want := []string{digestOf["obs-carol-general"], digestOf["obs-carol-genetic"], digestOf["obs-p2-general"]}
	if !slices.Equal(got, want) {
		t.Fatalf("dataset rows %v, want the records the sponsor's grants cover %v", got, want)
	}
	e0 := trials.GetEnrolment(r, "GLU-3", ps[0].ID)
	if d.Rows[0].Participant != e0.Code || d.Rows[0].Arm != "drug" {
		t.Fatalf("row %+v: want the code %s", d.Rows[0], e0.Code)
	}
	for _, id := range append(ids, ps[0].ID, ps[1].ID, ps[2].ID, spon.ID, c.provider.ID, c.auditor.ID) {
		if bytes.Contains(file, []byte(id)) {
			t.Fatalf("the dataset file holds the id %s:\n%s", id, file)
		}
	}

	good := exportOf(d, file)
	bad := *good
	bad.Dataset = hex.EncodeToString(make([]byte, 32))
	h.refused(spon, &bad, trials.CodeDataset, "an export whose digest is not the dataset's")
	bad = *good
	bad.Records++
	h.refused(spon, &bad, trials.CodeDataset, "an export whose record count is not the dataset's")
	// A dataset built without the consent filter (every observation) does not match.
	r = h.st.Committed()
	all := trials.DatasetFacts(r, tr, identity.Get(r, spon.ID), genesisTime)
	for i := range all {
		all[i].Readable = true
	}
	wide := trials.BuildDataset("GLU-3", good.AsOf, all)
	h.refused(spon, exportOf(wide, wide.Encode()), trials.CodeDataset, "an export of records outside the participants' consent")
	h.refused(c.provider, good, trials.CodeUnauthorized, "an export by the investigator, not the sponsor")
	bad = *good
	bad.AsOf = h.height + 5
	h.refused(spon, &bad, trials.CodeInvalid, "an export as of a future height")
	bad = *good
	bad.Dataset = ""
	h.refused(spon, &bad, trials.CodeInvalid, "an export without a digest")

	h.mustOK(h.sign(spon, good))
	r = h.st.Committed()
	tr = trials.Get(r, "GLU-3")
	xs := trials.Exports(r, tr)
	if len(xs) != 1 || xs[0].Digest != trials.DatasetDigest(file) || xs[0].Records != 3 || xs[0].Participants != 2 || xs[0].AsOf != d.AsOf {
		t.Fatalf("export events %+v; the file's digest is %s", xs, trials.DatasetDigest(file))
	}

	// The second participant withdraws: the dataset as of the same height no longer holds
	// their data, so the earlier export's digest is refused now.
	h.mustOK(h.sign(ps[1], &trials.WithdrawBody{Trial: "GLU-3"}))
	h.refused(spon, good, trials.CodeDataset, "re-exporting a withdrawn participant's data")
	d2, file2 := sponsorDataset(h, spon.ID)
	if d2.Participants != 1 || d2.Records != 2 {
		t.Fatalf("after the withdrawal: %d participants, %d records; want 1 and 2", d2.Participants, d2.Records)
	}
	h.mustOK(h.sign(spon, exportOf(d2, file2)))
	// An observation after the dataset's height is not in it.
	h.mustOK(h.sign(c.provider, observation(h, c.provider, ps[0].ID, cks[ps[0].ID]["general"], "obs-late", "late")))
	r = h.st.Committed()
	tr = trials.Get(r, "GLU-3")
	late := trials.BuildDataset("GLU-3", d2.AsOf, trials.DatasetFacts(r, tr, identity.Get(r, spon.ID), genesisTime.Add(time.Duration(h.height+1)*time.Second)))
	if !bytes.Equal(late.Encode(), file2) {
		t.Fatal("a dataset as of a height changed after a later observation")
	}
	replayTwice(t, h)
}
