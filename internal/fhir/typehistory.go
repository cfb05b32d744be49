package fhir

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
)

// Type and system history (R4 http.html 3.1.0.8): GET [base]/{type}/_history and
// GET [base]/_history list the versions of the records the caller may read, newest first,
// as a history Bundle. The list is made on this node's record index (metadata: versions,
// times, categories; never content) and paged there; only the records on the page are read,
// one audited ledger read each, with the earlier versions on the page decrypted from the
// ciphertext the read was allowed for. A version of another category whose key the caller
// does not hold is not listed.

// historyCursor is where a history page ends: the next page starts after it. A cursor
// instead of an offset keeps the pages exact while new versions are written (they sort
// before it).
type historyCursor struct {
	height  int64
	id      string
	version uint32
}

func (c historyCursor) String() string { return fmt.Sprintf("%d.%s.%d", c.height, c.id, c.version) }

func parseCursor(s string) (historyCursor, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return historyCursor{}, fmt.Errorf("not a history cursor")
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	v, err2 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil || h <= 0 || v == 0 || !records.ValidID(parts[1]) {
		return historyCursor{}, fmt.Errorf("not a history cursor")
	}
	return historyCursor{h, parts[1], uint32(v)}, nil
}

// historyBefore is the order of a history: newest (highest height) first, then by id and
// version, newest first.
func historyBefore(a, b *records.Meta) int {
	switch {
	case a.Height != b.Height:
		return -cmp.Compare(a.Height, b.Height)
	case a.RecordID != b.RecordID:
		return strings.Compare(a.RecordID, b.RecordID)
	}
	return -cmp.Compare(a.Version, b.Version)
}

type historyQuery struct {
	since  time.Time // zero: all
	count  int
	cursor *historyCursor
}

func parseHistoryQuery(r *http.Request) (*historyQuery, error) {
	q := &historyQuery{count: defaultCount}
	bad := func(format string, args ...any) error { return fail(http.StatusBadRequest, "invalid", format, args...) }
	for k, vs := range r.URL.Query() {
		switch k {
		case "_since":
			x := vs[0]
			lo, _, err := parseFHIRTime(x)
			if err != nil || len(x) <= 10 || !strings.ContainsAny(x[10:], "Z+-") {
				return nil, bad("_since=%s: an instant with its zone, e.g. 2020-01-01T00:00:00Z", x)
			}
			q.since = lo
		case "_count":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 || n > maxCount {
				return nil, bad("_count must be 0-%d", maxCount)
			}
			q.count = n
		case "_cursor":
			c, err := parseCursor(vs[0])
			if err != nil {
				return nil, bad("_cursor=%s: %v; follow the next link of the previous page", vs[0], err)
			}
			q.cursor = &c
		case "_format":
		case "_at", "_list", "_sort":
			return nil, fail(http.StatusBadRequest, "not-supported", "history parameter %s is not supported: use _since and _count, and follow the next link", k)
		default:
			return nil, bad("%q is not a history parameter: a history takes _since and _count, and pages by its next link (search parameters belong to a search: GET [base]/Type?...)", k)
		}
	}
	return q, nil
}

// canOpen reports whether the caller holds a key of version m: as its patient or author,
// or by a share of its category key version.
func canOpen(v consent.Reader, s *session, m *records.Meta) bool {
	if s.ks.ID == m.Patient || s.ks.ID == m.Author {
		return true
	}
	return consent.ShareFor(consent.List(v, m.Patient), s.ks.ID, m.Category, m.CategoryVersion) != nil
}

func (g *Gateway) typeHistory(w http.ResponseWriter, r *http.Request, s *session) {
	rt := r.PathValue("type")
	if err := validType(rt); err != nil {
		writeErr(w, err)
		return
	}
	if rt == "Consent" || rt == "AuditEvent" {
		writeErr(w, fail(http.StatusNotFound, "not-supported", "%s has no history here: %s", rt, map[string]string{
			"Consent": "a Consent is a ledger grant, revoked rather than versioned (search Consent?patient=ID)", "AuditEvent": "AuditEvents are never changed (search AuditEvent?patient=ID)"}[rt]))
		return
	}
	g.listHistory(w, r, s, func(t string) bool { return t == rt })
}

func (g *Gateway) systemHistory(w http.ResponseWriter, r *http.Request, s *session) {
	g.listHistory(w, r, s, IsSupported)
}

// historyNotAllowed answers another method on a _history URL.
func historyNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET")
	writeErr(w, fail(http.StatusMethodNotAllowed, "not-supported", "%s %s: a history is read only (GET)", r.Method, r.URL.Path))
}

// listHistory is the history of every record of the types typ accepts that the caller may
// read, across the patients whose records the caller may read.
func (g *Gateway) listHistory(w http.ResponseWriter, r *http.Request, s *session, typ func(string) bool) {
	q, err := parseHistoryQuery(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	pur, err := purpose(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if pur == access.Emergency {
		writeErr(w, fail(http.StatusForbidden, "forbidden", "a history across patients is refused under the emergency purpose: break-glass opens the record of a patient you name (GET [base]/Type/id/_history)"))
		return
	}
	heads, versions := g.historyVersions(s, pur, typ, q.since)
	total := len(versions)
	if q.cursor != nil {
		c := &records.Meta{Height: q.cursor.height, RecordID: q.cursor.id, Version: q.cursor.version}
		i, _ := slices.BinarySearchFunc(versions, c, historyBefore)
		for i < len(versions) && historyBefore(versions[i], c) <= 0 {
			i++
		}
		versions = versions[i:]
	}
	page := versions[:min(q.count, len(versions))]
	// One audited read per record on the page; its earlier versions are decrypted here.
	byRecord := map[string][]*records.Meta{}
	var order []string
	for _, m := range page {
		if byRecord[m.RecordID] == nil {
			order = append(order, m.RecordID)
		}
		byRecord[m.RecordID] = append(byRecord[m.RecordID], m)
	}
	toRead := make([]*records.Meta, len(order))
	for i, id := range order {
		toRead[i] = heads[id]
	}
	read, err := g.readHits(r.Context(), s, toRead, pur)
	if err != nil {
		writeErr(w, err)
		return
	}
	content := map[string]Object{} // id/version -> resource
	for _, h := range read {
		content[h.m.RecordID+"/"+strconv.FormatUint(uint64(h.m.Version), 10)] = h.o
		for _, m := range byRecord[h.m.RecordID] {
			if m.Version == h.m.Version {
				continue
			}
			pt, err := g.decryptVersion(s, m)
			if err != nil {
				writeErr(w, err)
				return
			}
			o, err := asResource(m, pt)
			if err != nil {
				writeErr(w, err)
				return
			}
			content[m.RecordID+"/"+strconv.FormatUint(uint64(m.Version), 10)] = o
		}
	}
	entries := make([]any, 0, len(page))
	for _, m := range page {
		method, status := "PUT", "200 OK"
		if m.Version == 1 {
			method, status = "POST", "201 Created"
		}
		url := m.ResourceType + "/" + m.RecordID
		entries = append(entries, Object{"fullUrl": fullURL(r, m.ResourceType, m.RecordID),
			"resource": content[m.RecordID+"/"+strconv.FormatUint(uint64(m.Version), 10)],
			"request":  Object{"method": method, "url": url},
			"response": Object{"status": status, "etag": etag(m.Version), "lastModified": time.Unix(m.Time, 0).UTC().Format(time.RFC3339)}})
	}
	self := *r.URL
	link := func(c *historyCursor) string {
		vals := self.Query()
		vals.Del("_cursor")
		if c != nil {
			vals.Set("_cursor", c.String())
		}
		vals.Set("_count", strconv.Itoa(q.count))
		return baseURL(r) + strings.TrimPrefix(self.Path, Prefix) + "?" + vals.Encode()
	}
	links := []any{Object{"relation": "self", "url": link(q.cursor)}}
	if q.count > 0 && len(versions) > len(page) {
		last := page[len(page)-1]
		links = append(links, Object{"relation": "next", "url": link(&historyCursor{last.Height, last.RecordID, last.Version})})
	}
	b := Object{"resourceType": "Bundle", "type": "history", "total": total, "link": links}
	if len(entries) > 0 {
		b["entry"] = entries
	}
	writeResource(w, http.StatusOK, b)
}

// historyVersions lists, on this node's record index, the versions since since (zero: all)
// of the records of the types typ accepts that the caller may read, newest first, with the
// head version of each record listed. It looks at the patients of the reader index only.
func (g *Gateway) historyVersions(s *session, pur string, typ func(string) bool, since time.Time) (map[string]*records.Meta, []*records.Meta) {
	v := g.b.View()
	heads := map[string]*records.Meta{}
	var versions []*records.Meta
	for _, p := range g.readerPatients(v, s) {
		f := records.AccessFacts(v, s.who, p, pur, g.Now(), emergency.Facts)
		for _, id := range records.PatientRecords(v, p) {
			head := records.Version(v, id, records.Head(v, id))
			if head == nil || !typ(head.ResourceType) || head.ContentType != ContentType || records.Erased(v, id) != nil || !records.Readable(f, head, pur) {
				continue
			}
			heads[id] = head
			for _, m := range records.History(v, id) {
				if !since.IsZero() && time.Unix(m.Time, 0).Before(since) {
					continue
				}
				if m.Version != head.Version && !canOpen(v, s, m) {
					continue
				}
				versions = append(versions, m)
			}
		}
	}
	slices.SortFunc(versions, historyBefore)
	return heads, versions
}

// patientIdentities are the ids of every registered patient.
func (g *Gateway) patientIdentities() []string {
	var ids []string
	prefix := identity.RolePrefix(identity.Patient)
	g.b.View().Iterate(prefix, func(k, _ []byte) bool { ids = append(ids, string(k[len(prefix):])); return true })
	return ids
}
