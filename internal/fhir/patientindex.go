package fhir

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/records"
)

// Finding a patient without plaintext on the node. A Patient resource is a record encrypted
// for its patient like any other: the ledger and every node hold its ciphertext, its
// category and who may read it, never a name. Searching Patient by identifier, name,
// family, given, birthdate or gender is answered by the gateway's patient index: the
// institution's own master patient index, kept in this process's memory only (never on
// disk, gone when the node stops), holding for each patient whose Patient resource a caller
// of this gateway read or wrote the demographics a search compares, at the version read.
//
// A search looks only at the patients whose Patient resource the caller may read now (the
// ledger's consent, decided on this node's state): a patient outside the caller's grants is
// never compared, counted or read. A patient the caller may read but the index lacks (or
// holds at an older version) is read through the ledger first, one audited read, and
// indexed; then every match on the page asked for is read through the ledger (one audited
// read each) and compared again on what the ledger released.

// patientIndex maps a patient identity id to the searchable part of their Patient resource.
type patientIndex struct {
	mu    sync.Mutex
	cards map[string]patientCard
}

type patientCard struct {
	version uint32
	o       Object // resourceType, id, identifier, name, birthDate, gender
}

func newPatientIndex() *patientIndex { return &patientIndex{cards: map[string]patientCard{}} }

// put indexes version m of a Patient record decrypted as o; an older version never
// replaces a newer one.
func (x *patientIndex) put(m *records.Meta, o Object) {
	if m.ResourceType != "Patient" || m.RecordID != m.Patient {
		return
	}
	card := Object{}
	for _, k := range []string{"resourceType", "id", "identifier", "name", "birthDate", "gender"} {
		if v, ok := o[k]; ok {
			card[k] = v
		}
	}
	if b, err := Marshal(card); err == nil { // a copy: the caller may go on changing o
		card, _ = Parse(b)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.cards[m.Patient]; ok && c.version > m.Version {
		return
	}
	x.cards[m.Patient] = patientCard{m.Version, card}
}

// drop forgets a patient (their Patient record was erased).
func (x *patientIndex) drop(patient string) {
	x.mu.Lock()
	delete(x.cards, patient)
	x.mu.Unlock()
}

// get is the card of a patient at exactly version v.
func (x *patientIndex) get(patient string, v uint32) (Object, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.cards[patient]
	if !ok || c.version != v {
		return nil, false
	}
	return c.o, true
}

// matchAll reports whether o satisfies every filter (AND of ORs).
func matchAll(o Object, fs []filter) bool {
	for _, f := range fs {
		if !f.match(o) {
			return false
		}
	}
	return true
}

// readablePatients are the head versions of the Patient resources the caller may read for
// the purpose, by the consent on this node's state (the ledger decides each read again),
// among the patients of the reader index.
func (g *Gateway) readablePatients(s *session, pur string) []*records.Meta {
	v := g.b.View()
	var out []*records.Meta
	for _, id := range g.readerPatients(v, s) {
		if records.Erased(v, id) != nil {
			g.patients.drop(id) // crypto-shredded: no copy of it stays here either
			continue
		}
		m := records.Version(v, id, records.Head(v, id))
		if m == nil || m.ResourceType != "Patient" || m.ContentType != ContentType || m.Patient != id {
			continue
		}
		if records.Readable(records.AccessFacts(v, s.who, id, pur, g.Now(), emergency.Facts), m, pur) {
			out = append(out, m)
		}
	}
	return out
}

// matchPatients answers a search across patients (Patient?family=..., or the Patient end
// of a chain) from the patient index: the Patients the caller may read whose card matches,
// as hits holding the card, or the resource if this request read it to index it (read
// names those). releasePatients then reads the rest of the page. Break-glass is refused here: it opens
// the record of one patient the caller names, never a search over everyone.
func (g *Gateway) matchPatients(ctx context.Context, s *session, pur string, fs []filter) (_ []hit, read map[string]bool, _ error) {
	if pur == access.Emergency {
		return nil, nil, fail(http.StatusForbidden, "forbidden", "a search across patients is refused under the emergency purpose: break-glass opens the record of a patient you name (GET Patient/<id>, or search with patient=<id>)")
	}
	ms := g.readablePatients(s, pur)
	var stale []*records.Meta
	for _, m := range ms {
		if _, ok := g.patients.get(m.Patient, m.Version); !ok {
			stale = append(stale, m)
		}
	}
	fresh, err := g.readReadable(ctx, s, stale, pur) // indexes them (readRecord)
	if err != nil {
		return nil, nil, err
	}
	read = map[string]bool{}
	released := map[string]Object{}
	for _, h := range fresh {
		read[h.m.Patient], released[h.m.Patient] = true, h.o
	}
	var out []hit
	for _, m := range ms {
		if o, ok := released[m.Patient]; ok {
			if matchAll(o, fs) {
				out = append(out, hit{m, o})
			}
			continue
		}
		if card, ok := g.patients.get(m.Patient, m.Version); ok && matchAll(card, fs) {
			out = append(out, hit{m, card})
		}
	}
	slices.SortFunc(out, func(a, b hit) int { return strings.Compare(a.m.RecordID, b.m.RecordID) })
	return out, read, nil
}

// releasePatients reads the matches of a page that this request has not read yet through
// the ledger (one audited read each) and keeps those that still match what it released.
func (g *Gateway) releasePatients(ctx context.Context, s *session, pur string, page []hit, read map[string]bool, fs []filter) ([]hit, error) {
	var ms []*records.Meta
	for _, h := range page {
		if !read[h.m.Patient] {
			ms = append(ms, h.m)
		}
	}
	hs, err := g.readReadable(ctx, s, ms, pur)
	if err != nil {
		return nil, err
	}
	byID := map[string]hit{}
	for _, h := range hs {
		byID[h.m.Patient] = h
	}
	var out []hit
	for _, h := range page {
		if !read[h.m.Patient] {
			var ok bool
			if h, ok = byID[h.m.Patient]; !ok {
				continue // refused by the ledger after all
			}
		}
		if matchAll(h.o, fs) {
			out = append(out, h)
		}
	}
	return out, nil
}

// readReadable is readHits that leaves out a record the ledger refused after all (a grant
// revoked since the pre-decision): the refusal is on the ledger, the record stays unread.
func (g *Gateway) readReadable(ctx context.Context, s *session, ms []*records.Meta, pur string) ([]hit, error) {
	hits, errs := g.readEach(ctx, s, ms, pur)
	var out []hit
	for i, err := range errs {
		switch {
		case err == nil:
			out = append(out, hits[i])
		case denied(err):
		default:
			return nil, err
		}
	}
	return out, nil
}
