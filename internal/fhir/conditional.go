package fhir

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/records"
)

// Versioned and conditional interactions (R4 http.html): If-Match on update (a stale
// version gets 412 and writes nothing), If-None-Exist on create (one match returns it and
// writes nothing, several get 412), If-None-Match on read (304), and Prefer: return=.

// etagVersion reads a version from an ETag (W/"3", "3" or 3).
func etagVersion(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "W/")
	t = strings.Trim(t, `"`)
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil || n == 0 {
		return 0, fail(http.StatusBadRequest, "value", "ETag %q: expected W/\"<version>\" with a positive version", s)
	}
	return uint32(n), nil
}

func etag(v uint32) string { return `W/"` + strconv.FormatUint(uint64(v), 10) + `"` }

// checkIfMatch compares an If-Match with the record's head version (0: no record). It runs
// under the signer's write lock just before the write is sealed for version head+1, and the
// ledger accepts only head+1, so a writer that commits in between makes this write fail
// (conflict) instead of being overwritten.
func checkIfMatch(ifMatch string, rt, id string, head uint32) error {
	if ifMatch == "" {
		return nil
	}
	want, err := etagVersion(ifMatch)
	if err != nil {
		return err
	}
	if head != want {
		if head == 0 {
			return fail(http.StatusPreconditionFailed, "conflict", "If-Match %s: %s/%s does not exist", ifMatch, rt, id)
		}
		return fail(http.StatusPreconditionFailed, "conflict", "If-Match %s: %s/%s is at version %d; read it again and apply your change to that version", ifMatch, rt, id, head)
	}
	return nil
}

// ifNoneMatch reports whether an If-None-Match header names version v (or is *).
func ifNoneMatch(r *http.Request, v uint32) bool {
	h := r.Header.Get("If-None-Match")
	if h == "" {
		return false
	}
	for _, t := range strings.Split(h, ",") {
		if strings.TrimSpace(t) == "*" {
			return true
		}
		if n, err := etagVersion(t); err == nil && n == v {
			return true
		}
	}
	return false
}

// existing runs the search of an If-None-Exist (a query string, with or without "Type?")
// within the patient's records: the matches the caller may read, each an audited read.
func (g *Gateway) existing(ctx context.Context, s *session, rt, patient, pur, cond string) ([]hit, error) {
	if i := strings.IndexByte(cond, '?'); i >= 0 {
		cond = cond[i+1:]
	}
	vals, err := url.ParseQuery(cond)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "invalid", "If-None-Exist %q is not a query string: %v", cond, err)
	}
	q, err := parseQuery(rt, vals)
	if err != nil {
		return nil, err
	}
	if len(q.ids) == 0 && len(q.updated) == 0 && len(q.filters) == 0 {
		return nil, fail(http.StatusBadRequest, "invalid", "If-None-Exist %q names no search criterion", cond)
	}
	if q.patient != "" && q.patient != patient {
		return nil, fail(http.StatusBadRequest, "invalid", "If-None-Exist names patient %s, the resource belongs to %s", q.patient, patient)
	}
	q.patient = patient
	return g.find(ctx, s, rt, pur, q)
}

// preferReturn is the return preference of a Prefer header: minimal, representation
// (default) or OperationOutcome.
func preferReturn(r *http.Request) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(h, func(c rune) bool { return c == ',' || c == ';' }) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "return="); ok {
				return strings.Trim(v, `"`)
			}
		}
	}
	return "representation"
}

// versionHeaders sets ETag and Last-Modified of a record version.
func versionHeaders(w http.ResponseWriter, m *records.Meta) {
	w.Header().Set("ETag", etag(m.Version))
	w.Header().Set("Last-Modified", time.Unix(m.Time, 0).UTC().Format(http.TimeFormat))
}

// written answers a create or update: Location [base]/Type/id/_history/n, ETag,
// Last-Modified, and the body the Prefer header asks for.
func written(w http.ResponseWriter, r *http.Request, status int, m *records.Meta, o Object, location bool) {
	versionHeaders(w, m)
	if location {
		w.Header().Set("Location", fmt.Sprintf("%s/_history/%d", fullURL(r, m.ResourceType, m.RecordID), m.Version))
	}
	switch preferReturn(r) {
	case "minimal":
		w.WriteHeader(status)
	case "OperationOutcome":
		writeResource(w, status, NewOutcome("information", "informational", "", "%s/%s version %d is on the ledger", m.ResourceType, m.RecordID, m.Version))
	default:
		writeResource(w, status, o)
	}
}
