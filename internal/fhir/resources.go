package fhir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
)

// maxResource bounds a request body (a transaction Bundle of a whole patient fits).
const maxResource = 16 << 20

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxResource))
	if err != nil {
		return nil, fail(http.StatusRequestEntityTooLarge, "too-costly", "request body: %v", err)
	}
	return b, nil
}

// validType checks the type in the URL.
func validType(rt string) error {
	switch {
	case rt == "Consent" || rt == "AuditEvent" || IsSupported(rt):
		return nil
	case KnownResource(rt):
		return fail(http.StatusNotFound, "not-supported", "resource type %s is not stored by this server (see /metadata)", rt)
	}
	return fail(http.StatusNotFound, "not-supported", "unknown resource type %q", rt)
}

// headMeta is the head version of a record that is a resource of type rt.
func (g *Gateway) headMeta(rt, id string) (*records.Meta, error) {
	if !records.ValidID(id) {
		return nil, fail(http.StatusBadRequest, "value", "invalid id %q", id)
	}
	v := g.b.View()
	if t := records.Erased(v, id); t != nil && len(t.Versions) > 0 && t.Versions[len(t.Versions)-1].ResourceType == rt {
		return nil, fail(http.StatusGone, "deleted", "%s/%s was erased by its patient at height %d; only its digest and audit trail remain", rt, id, t.Height)
	}
	m := records.Version(v, id, records.Head(v, id))
	if m == nil || m.ResourceType != rt || m.ContentType != ContentType {
		return nil, fail(http.StatusNotFound, "not-found", "%s/%s is not on the ledger", rt, id)
	}
	return m, nil
}

// asResource turns a decrypted record into the resource a client sees: the stored JSON
// with the ledger's version and time in meta.
func asResource(m *records.Meta, pt []byte) (Object, error) {
	o, err := Parse(pt)
	if err != nil {
		return nil, fmt.Errorf("record %s version %d does not hold FHIR JSON: %w", m.RecordID, m.Version, err)
	}
	meta, _ := o["meta"].(Object)
	if meta == nil {
		meta = Object{}
		o["meta"] = meta
	}
	meta["versionId"] = strconv.FormatUint(uint64(m.Version), 10)
	meta["lastUpdated"] = time.Unix(m.Time, 0).UTC().Format(time.RFC3339)
	return o, nil
}

// readRecord asks the ledger (an audited read in the caller's name) for a record and
// decrypts it; with all, every version, except earlier versions of another category (see
// Gateway.category) that the caller holds no key of.
func (g *Gateway) readRecord(ctx context.Context, s *session, m *records.Meta, purpose string, all bool) ([]Object, error) {
	c, err := g.away(ctx, m.Patient) // the home shard of a patient of another shard
	switch {
	case err != nil:
		return nil, err
	case c != nil && all:
		return nil, historyElsewhere(m.ResourceType, m.RecordID)
	case c == nil:
		c = g.c
	}
	res, err := c.ReadRecord(ctx, s.ks, m.Patient, m.RecordID, purpose)
	if err != nil {
		if c != g.c {
			err = g.unreachable(m.Patient, err)
		}
		return nil, err
	}
	head, err := asResource(res.Meta, res.Plaintext)
	if err == nil && c == g.c {
		g.patients.put(res.Meta, head) // the index of this shard's patients
	}
	if err != nil || !all {
		return []Object{head}, err
	}
	out := []Object{head}
	for i := len(res.History) - 1; i >= 0; i-- {
		h := res.History[i]
		if h.Version == res.Meta.Version {
			continue
		}
		pt, err := g.decryptVersion(s, h)
		if errors.Is(err, client.ErrCannotDecrypt) && h.Category != res.Meta.Category {
			continue // written under another category, which the caller holds no key of
		}
		if err != nil {
			return nil, err
		}
		o, err := asResource(h, pt)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// decryptVersion opens an earlier version of a record the ledger just let the caller read
// (its head): the ciphertext comes from this node's state or blob store.
func (g *Gateway) decryptVersion(s *session, m *records.Meta) ([]byte, error) {
	v := g.b.View()
	var ct []byte
	if m.Blob {
		b, err := g.b.Blobs().Get(m.Digest)
		if errors.Is(err, blobs.ErrNotFound) {
			return nil, fail(http.StatusServiceUnavailable, "transient", "version %d of %s is a blob this node does not hold", m.Version, m.RecordID)
		}
		if err != nil {
			return nil, err
		}
		ct = b
	} else {
		ct = records.Ciphertext(v, m)
	}
	var share *consent.KeyShare
	if s.ks.ID != m.Patient && s.ks.ID != m.Author {
		share = consent.ShareFor(consent.List(v, m.Patient), s.ks.ID, m.Category, m.CategoryVersion)
	}
	return client.Decrypt(s.ks, m, ct, share)
}

func (g *Gateway) read(w http.ResponseWriter, r *http.Request, s *session) {
	if isResearchSubject(r) {
		g.readResearchSubject(w, r, s)
		return
	}
	rt, id := r.PathValue("type"), r.PathValue("id")
	if err := validType(rt); err != nil {
		writeErr(w, err)
		return
	}
	switch rt {
	case "Consent":
		g.readConsent(w, r, s, id)
		return
	case "AuditEvent":
		writeErr(w, fail(http.StatusNotFound, "not-supported", "read AuditEvents by searching: GET %s/AuditEvent?patient=ID", Prefix))
		return
	}
	pur, err := purpose(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	m, err := g.headMeta(rt, id)
	var o Object
	if he := (*httpError)(nil); errors.As(err, &he) && he.status == http.StatusNotFound {
		if am, ao, handled, aerr := g.readAway(r.Context(), s, rt, id, pur); handled {
			m, o, err = am, ao, aerr
		}
	}
	if err == nil && o == nil {
		var vs []Object
		if vs, err = g.readRecord(r.Context(), s, m, pur, false); err == nil {
			o = vs[0]
		}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	versionHeaders(w, m)
	if ifNoneMatch(r, m.Version) {
		w.WriteHeader(http.StatusNotModified) // after the audited read: consent still decides
		return
	}
	writeResource(w, http.StatusOK, o)
}

func (g *Gateway) vread(w http.ResponseWriter, r *http.Request, s *session) {
	rt, id := r.PathValue("type"), r.PathValue("id")
	vid, err := strconv.ParseUint(r.PathValue("vid"), 10, 32)
	if err != nil || vid == 0 {
		writeErr(w, fail(http.StatusBadRequest, "value", "version id %q must be a positive integer", r.PathValue("vid")))
		return
	}
	vs, err := g.versions(r, s, rt, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, o := range vs {
		if o["meta"].(Object)["versionId"] == strconv.FormatUint(vid, 10) {
			if m := records.Version(g.b.View(), id, uint32(vid)); m != nil {
				versionHeaders(w, m)
			}
			if ifNoneMatch(r, uint32(vid)) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			writeResource(w, http.StatusOK, o)
			return
		}
	}
	if m := records.Version(g.b.View(), id, uint32(vid)); m != nil {
		writeErr(w, fail(http.StatusForbidden, "forbidden", "version %d of %s/%s is a %s version, whose key you do not hold", vid, rt, id, m.Category))
		return
	}
	writeErr(w, fail(http.StatusNotFound, "not-found", "%s/%s has no version %d", rt, id, vid))
}

func (g *Gateway) versions(r *http.Request, s *session, rt, id string) ([]Object, error) {
	if err := validType(rt); err != nil {
		return nil, err
	}
	if rt == "Consent" || rt == "AuditEvent" {
		return nil, fail(http.StatusNotFound, "not-supported", "%s has no versions here", rt)
	}
	pur, err := purpose(r)
	if err != nil {
		return nil, err
	}
	m, err := g.headMeta(rt, id)
	if he := (*httpError)(nil); errors.As(err, &he) && he.status == http.StatusNotFound && g.Shards != nil {
		if c, _, _ := g.locateAway(r.Context(), s, id); c != nil {
			return nil, historyElsewhere(rt, id)
		}
	}
	if err != nil {
		return nil, err
	}
	return g.readRecord(r.Context(), s, m, pur, true)
}

func (g *Gateway) history(w http.ResponseWriter, r *http.Request, s *session) {
	rt, id := r.PathValue("type"), r.PathValue("id")
	vs, err := g.versions(r, s, rt, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	b := Object{"resourceType": "Bundle", "type": "history", "total": len(vs)}
	var entries []any
	for _, o := range vs {
		meta := o["meta"].(Object)
		method := "PUT"
		if meta["versionId"] == "1" {
			method = "POST"
		}
		entries = append(entries, Object{"fullUrl": fullURL(r, rt, id), "resource": o,
			"request":  Object{"method": method, "url": rt + "/" + id},
			"response": Object{"status": "200", "etag": `W/"` + meta["versionId"].(string) + `"`, "lastModified": meta["lastUpdated"]}})
	}
	b["entry"] = entries
	writeResource(w, http.StatusOK, b)
}

// fullURL is the absolute URL of a resource on this server.
func fullURL(r *http.Request, rt, id string) string { return baseURL(r) + "/" + rt + "/" + id }

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// patientOf finds the patient a new resource belongs to: its patient/subject/beneficiary
// reference to Patient/<identity id>, the request's ?patient=, or the caller if a patient.
func (g *Gateway) patientOf(r *http.Request, s *session, o Object) (string, error) {
	if o["resourceType"] == "Patient" {
		id, _ := o["id"].(string)
		if id == "" {
			id = strings.TrimPrefix(r.URL.Query().Get("patient"), "Patient/")
		}
		if id != "" {
			return g.checkPatient(r.Context(), id)
		}
		if s.who.Role == identity.Patient {
			return s.who.ID, nil
		}
		return "", fail(http.StatusUnprocessableEntity, "business-rule", "a Patient resource is stored under the patient's identity id: PUT %s/Patient/<identity id>, or have the patient post it", Prefix)
	}
	if p := r.URL.Query().Get("patient"); p != "" {
		return g.checkPatient(r.Context(), strings.TrimPrefix(p, "Patient/"))
	}
	for _, f := range []string{"patient", "subject", "beneficiary"} {
		if ref, ok := o[f].(Object); ok {
			if s, _ := ref["reference"].(string); strings.HasPrefix(s, "Patient/") {
				return g.checkPatient(r.Context(), strings.TrimPrefix(s, "Patient/"))
			}
		}
	}
	if s.who.Role == identity.Patient {
		return s.who.ID, nil
	}
	return "", fail(http.StatusUnprocessableEntity, "business-rule", "cannot tell whose record this is: reference Patient/<identity id> as patient or subject, or add ?patient=<identity id>")
}

func (g *Gateway) checkPatient(ctx context.Context, id string) (string, error) {
	who := identity.Get(g.b.View(), id)
	if who == nil {
		if c, err := g.away(ctx, id); err != nil || c != nil {
			if err != nil {
				return "", err
			}
			return g.checkPatientAway(ctx, c, id)
		}
	}
	if who == nil || who.Role != identity.Patient {
		return "", fail(http.StatusUnprocessableEntity, "business-rule", "Patient/%s is not a registered patient identity", id)
	}
	return id, nil
}

// lockWriter serialises one signer's transactions on this node (their sequences).
func (g *Gateway) lockWriter(id string) func() {
	m, _ := g.writeMu.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// write seals and writes resources of one patient as the caller, pipelined, and returns
// the committed metadata of each.
func (g *Gateway) write(ctx context.Context, s *session, patient string, es []*Entry) ([]*records.Meta, error) {
	if len(es) == 0 {
		return nil, nil
	}
	if c, err := g.away(ctx, patient); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		return g.writeAway(ctx, s, c, patient, es)
	}
	defer g.lockWriter(s.ks.ID)()
	v := g.b.View()
	me := identity.Get(v, s.ks.ID)
	items := make([]writeItem, len(es))
	for i, e := range es {
		head := records.Version(v, e.ID, records.Head(v, e.ID))
		if head != nil && (head.Patient != patient || head.ResourceType != e.Type) {
			return nil, fail(http.StatusConflict, "conflict", "id %s is already used by another record", e.ID)
		}
		if err := checkIfMatch(e.IfMatch, e.Type, e.ID, records.Head(v, e.ID)); err != nil {
			return nil, err
		}
		cl := g.category(e.Resource, head)
		cat := cl.Category
		e.Category = cat
		ck := consent.CurrentKey(v, patient, cat)
		if ck == nil {
			return nil, fail(http.StatusUnprocessableEntity, "business-rule", "%s is a %s record (%s) and patient %s has published no %s key: the patient publishes one first (ehrchain record keys)",
				e.Type, cat, cl, patient, cat)
		}
		pt, err := Stored(e.Resource, e.ID)
		if err != nil {
			return nil, err
		}
		items[i] = writeItem{ck: *ck, rec: client.NewRecord{ID: e.ID, Version: records.Head(v, e.ID) + 1, Patient: patient,
			Category: cat, ResourceType: e.Type, ContentType: ContentType, Plaintext: pt}}
	}
	if err := pipelineWrite(ctx, g.c, s.ks, me.KeyVersion, items, 0, nil, nil); err != nil {
		return nil, err
	}
	v = g.b.View()
	out := make([]*records.Meta, len(items))
	for i, it := range items {
		out[i] = records.Version(v, it.rec.ID, it.rec.Version)
		if out[i] == nil {
			return nil, fmt.Errorf("record %s version %d committed but not visible yet", it.rec.ID, it.rec.Version)
		}
	}
	return out, nil
}

// parseFor reads and validates a request body of the resource type in the URL.
func parseFor(w http.ResponseWriter, r *http.Request, rt string) (Object, error) {
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	o, err := Validate(b)
	if err != nil {
		return nil, err
	}
	if o["resourceType"] != rt {
		return nil, fail(http.StatusBadRequest, "invalid", "the body is a %v, the URL names %s", o["resourceType"], rt)
	}
	return o, nil
}

func (g *Gateway) create(w http.ResponseWriter, r *http.Request, s *session) {
	rt := r.PathValue("type")
	if !KnownResource(rt) {
		writeErr(w, validType(rt))
		return
	}
	// Validate before anything else, so a client learns what is wrong with its resource
	// even for a type this server does not store.
	o, err := parseFor(w, r, rt)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := validType(rt); err != nil {
		writeErr(w, err)
		return
	}
	switch rt {
	case "Consent":
		g.createConsent(w, r, s, o)
		return
	case "AuditEvent":
		writeErr(w, fail(http.StatusMethodNotAllowed, "not-supported", "AuditEvents are written by the ledger, not by clients"))
		return
	}
	patient, err := g.patientOf(r, s, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	if cond := r.Header.Get("If-None-Exist"); cond != "" {
		pur, err := purpose(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		hs, err := g.existing(r.Context(), s, rt, patient, pur, cond)
		if err != nil {
			writeErr(w, err)
			return
		}
		switch len(hs) {
		case 0:
		case 1:
			written(w, r, http.StatusOK, hs[0].m, hs[0].o, false) // nothing written
			return
		default:
			writeErr(w, fail(http.StatusPreconditionFailed, "duplicate", "If-None-Exist %q matches %d %s resources; make the criteria selective", cond, len(hs), rt))
			return
		}
	}
	id := newID()
	if rt == "Patient" {
		id = patient
	}
	g.store(w, r, s, patient, &Entry{Resource: o, Type: rt, ID: id}, http.StatusCreated)
}

func (g *Gateway) update(w http.ResponseWriter, r *http.Request, s *session) {
	if isResearchSubject(r) {
		researchSubjectReadOnly(w, r, s)
		return
	}
	rt, id := r.PathValue("type"), r.PathValue("id")
	if err := validType(rt); err != nil {
		writeErr(w, err)
		return
	}
	if rt == "Consent" || rt == "AuditEvent" {
		writeErr(w, fail(http.StatusMethodNotAllowed, "not-supported", "%s cannot be updated: revoke a Consent (DELETE) and post a new one", rt))
		return
	}
	o, err := parseFor(w, r, rt)
	if err != nil {
		writeErr(w, err)
		return
	}
	if bid, _ := o["id"].(string); bid != id {
		writeErr(w, fail(http.StatusBadRequest, "invalid", "the body's id %q must equal the id in the URL %q", bid, id))
		return
	}
	if !records.ValidID(id) {
		writeErr(w, fail(http.StatusBadRequest, "value", "invalid id %q", id))
		return
	}
	patient, err := g.patientOf(r, s, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	g.store(w, r, s, patient, &Entry{Resource: o, Type: rt, ID: id, IfMatch: r.Header.Get("If-Match")}, http.StatusOK)
}

func (g *Gateway) store(w http.ResponseWriter, r *http.Request, s *session, patient string, e *Entry, status int) {
	ms, err := g.write(r.Context(), s, patient, []*Entry{e})
	if err != nil {
		writeErr(w, err)
		return
	}
	m := ms[0]
	if m.Version == 1 {
		status = http.StatusCreated // a create, or an update as create with the client's id
	}
	out, err := asResource(m, mustStored(e))
	if err != nil {
		writeErr(w, err)
		return
	}
	g.patients.put(m, out)
	written(w, r, status, m, out, true)
}

func mustStored(e *Entry) []byte {
	b, _ := Stored(e.Resource, e.ID)
	return b
}

func (g *Gateway) remove(w http.ResponseWriter, r *http.Request, s *session) {
	if isResearchSubject(r) {
		researchSubjectReadOnly(w, r, s)
		return
	}
	if r.PathValue("type") == "Consent" {
		g.revokeConsent(w, r, s, r.PathValue("id"))
		return
	}
	w.Header().Set("Allow", "GET, PUT")
	writeErr(w, fail(http.StatusMethodNotAllowed, "not-supported", "records are never deleted from the ledger: write a new version with status entered-in-error (PUT), or have the patient erase it (ehrchain record erase RECORD --as PATIENT): its ciphertext and keys leave the ledger state, its digest and audit trail stay"))
}

// transaction applies a transaction Bundle: every entry is validated first, references
// between entries (urn:uuid fullUrls) are resolved to the ids assigned here, and the
// records are written pipelined.
func (g *Gateway) transaction(w http.ResponseWriter, r *http.Request, s *session) {
	b, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if p, err := Parse(b); err == nil && p["resourceType"] == "Bundle" && p["type"] == "batch" {
		// A batch entry's resource is validated when the entry runs, so that an invalid one
		// fails alone; the Bundle around them is validated here.
		if err := ValidateObject(withoutResources(p)); err != nil {
			writeErr(w, err)
			return
		}
		g.batch(w, r, p)
		return
	}
	o, err := Validate(b)
	if err != nil {
		writeErr(w, err)
		return
	}
	if o["resourceType"] != "Bundle" {
		writeErr(w, fail(http.StatusBadRequest, "invalid", "the body is a %v, the URL names Bundle", o["resourceType"]))
		return
	}
	switch t := o["type"]; t {
	case "transaction":
	default:
		writeErr(w, fail(http.StatusBadRequest, "not-supported", "only transaction and batch Bundles are processed here, not %v", t))
		return
	}
	es, err := BundleEntries(o)
	if err != nil {
		writeErr(w, fail(http.StatusUnprocessableEntity, "not-supported", "%v", err))
		return
	}
	patient := ""
	for _, e := range es {
		switch e.Method {
		case "POST":
			e.ID = newID()
		case "PUT":
			if e.IfNoneExist != "" {
				writeErr(w, fail(http.StatusBadRequest, "invalid", "request.ifNoneExist is for POST entries (a conditional create), not PUT %s", e.URL))
				return
			}
			rt, id, _ := strings.Cut(e.URL, "/")
			if rt != e.Type || !records.ValidID(id) {
				writeErr(w, fail(http.StatusBadRequest, "invalid", "a PUT entry's request.url must be %s/<id>, not %q", e.Type, e.URL))
				return
			}
			e.ID = id
		default:
			writeErr(w, fail(http.StatusBadRequest, "not-supported", "transaction entries must be POST or PUT, not %q", e.Method))
			return
		}
		if e.Type == "Patient" {
			pat := Object{"resourceType": "Patient"}
			if e.Method == "PUT" {
				pat["id"] = e.ID
			}
			p, err := g.patientOf(r, s, pat)
			if err != nil {
				writeErr(w, err)
				return
			}
			patient, e.ID = p, p
		}
	}
	if patient == "" {
		for _, e := range es {
			if p, err := g.patientOf(r, s, e.Resource); err == nil {
				patient = p
				break
			}
		}
	}
	if patient == "" {
		writeErr(w, fail(http.StatusUnprocessableEntity, "business-rule", "cannot tell whose records these are: include the Patient (PUT Patient/<identity id>) or reference it"))
		return
	}
	// Conditional creates (request.ifNoneExist): one match is the entry's answer and its id
	// for the references of the other entries, nothing is written for it; several matches
	// fail the whole transaction, before anything is written.
	var pur string
	var toWrite []*Entry
	for i, e := range es {
		if e.Method == "POST" && e.IfNoneExist != "" {
			if pur == "" {
				if pur, err = purpose(r); err != nil {
					writeErr(w, err)
					return
				}
			}
			hs, err := g.existing(r.Context(), s, e.Type, patient, pur, e.IfNoneExist)
			if err != nil {
				writeErr(w, err)
				return
			}
			switch len(hs) {
			case 0:
			case 1:
				e.existing, e.ID = &hs[0], hs[0].m.RecordID
				continue
			default:
				writeErr(w, fail(http.StatusPreconditionFailed, "duplicate", "Bundle.entry[%d].request.ifNoneExist %q matches %d %s resources, so the transaction wrote nothing; make the criteria selective", i, e.IfNoneExist, len(hs), e.Type))
				return
			}
		}
		toWrite = append(toWrite, e)
	}
	refs := RefMap(es)
	for _, e := range toWrite {
		ResolveReferences(e.Resource, refs)
	}
	wrote, err := g.write(r.Context(), s, patient, toWrite)
	if err != nil {
		writeErr(w, err)
		return
	}
	ms := make([]*records.Meta, len(es))
	for i, j := 0, 0; i < len(es); i++ {
		if es[i].existing != nil {
			ms[i] = es[i].existing.m
			continue
		}
		ms[i] = wrote[j]
		if es[i].Type == "Patient" {
			if o, err := asResource(ms[i], mustStored(es[i])); err == nil {
				g.patients.put(ms[i], o)
			}
		}
		j++
	}
	var entries []any
	for i, e := range es {
		status := "201 Created"
		if ms[i].Version > 1 || e.existing != nil {
			status = "200 OK"
		}
		entries = append(entries, Object{"fullUrl": fullURL(r, e.Type, e.ID), "response": Object{"status": status,
			"location": fmt.Sprintf("%s/_history/%d", fullURL(r, e.Type, e.ID), ms[i].Version), "etag": fmt.Sprintf(`W/"%d"`, ms[i].Version),
			"lastModified": time.Unix(ms[i].Time, 0).UTC().Format(time.RFC3339)}})
	}
	writeResource(w, http.StatusOK, Object{"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
}
