package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ehrchain/ehrchain/internal/records"
)

// The patient compartment (R4 compartmentdefinition-patient): on this ledger every record
// belongs to exactly one patient, so a patient's compartment is the set of their records.
// Patient/{id}/$everything returns the part of it the caller may read, and
// Patient/{id}/{type} searches one type within it.

// instanceOp serves GET [base]/{type}/{id}/{op}: $everything and compartment searches on
// Patient ({id}/_history is served by history).
func (g *Gateway) instanceOp(w http.ResponseWriter, r *http.Request, s *session) {
	rt, id, op := r.PathValue("type"), r.PathValue("id"), r.PathValue("op")
	if rt != "Patient" {
		writeErr(w, fail(http.StatusNotFound, "not-supported", "no such FHIR interaction: GET %s/%s/%s (compartments and $everything are served on Patient)", rt, id, op))
		return
	}
	if op == "$everything" {
		g.everything(w, r, s, id)
		return
	}
	if strings.HasPrefix(op, "$") {
		writeErr(w, fail(http.StatusNotFound, "not-supported", "operation %s is not supported on Patient (see /metadata)", op))
		return
	}
	if err := validType(op); err != nil {
		writeErr(w, err)
		return
	}
	if op == "Consent" || op == "AuditEvent" {
		writeErr(w, fail(http.StatusNotFound, "not-supported", "%s is not searched through the compartment: use %s?patient=%s", op, op, id))
		return
	}
	if !records.ValidID(id) {
		writeErr(w, fail(http.StatusBadRequest, "value", "invalid id %q", id))
		return
	}
	q := r.URL.Query()
	for _, k := range []string{"patient", "subject"} {
		for _, v := range q[k] {
			if strings.TrimPrefix(v, "Patient/") != id {
				writeErr(w, fail(http.StatusBadRequest, "invalid", "%s=%s is outside the compartment of Patient/%s", k, v, id))
				return
			}
		}
	}
	q.Set("patient", id)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.SetPathValue("type", op)
	g.search(w, r2, s)
}

// everything is Patient/{id}/$everything: the Patient resource first, then every other
// record of the patient the caller may read, by type and id. It pages on the record index
// (metadata) and reads only the page, so every resource returned is one audited read and
// no resource outside the page is read.
func (g *Gateway) everything(w http.ResponseWriter, r *http.Request, s *session, patient string) {
	if !records.ValidID(patient) {
		writeErr(w, fail(http.StatusBadRequest, "value", "invalid id %q", patient))
		return
	}
	pur, err := purpose(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	q, types, err := everythingQuery(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	q.patient = patient
	cands, err := g.candidates(r.Context(), s, func(t string) bool {
		return IsSupported(t) && (len(types) == 0 || slices.Contains(types, t))
	}, pur, q)
	if err != nil {
		writeErr(w, err)
		return
	}
	slices.SortFunc(cands, func(a, b *records.Meta) int {
		if c := compartmentOrder(a.ResourceType, b.ResourceType); c != 0 {
			return c
		}
		return strings.Compare(a.RecordID, b.RecordID)
	})
	lo := min(q.offset, len(cands))
	hi := min(lo+q.count, len(cands))
	page, err := g.readHits(r.Context(), s, cands[lo:hi], pur)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeResource(w, http.StatusOK, pageBundle(r, q, len(cands), page))
}

// compartmentOrder puts the Patient first, then the other types by name.
func compartmentOrder(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "Patient":
		return -1
	case b == "Patient":
		return 1
	}
	return strings.Compare(a, b)
}

// everythingQuery reads the parameters of $everything that this server supports: _since
// (updated at or after), _type (the types to return), _count and _offset (paging).
func everythingQuery(v url.Values) (*query, []string, error) {
	q := &query{count: defaultCount}
	var types []string
	bad := func(format string, args ...any) error { return fail(http.StatusBadRequest, "invalid", format, args...) }
	for k, vs := range v {
		switch k {
		case "_since":
			x := vs[0]
			if _, _, _, err := dateArg(x); err != nil || len(x) <= 10 || x[0] < '0' || x[0] > '9' {
				return nil, nil, bad("_since=%s: an instant, e.g. 2020-01-01T00:00:00Z", x)
			}
			q.updated = append(q.updated, []string{"ge" + vs[0]})
		case "_type":
			for _, x := range vs {
				for _, t := range strings.Split(x, ",") {
					if !IsSupported(t) {
						return nil, nil, bad("_type=%s: not a resource type this server stores (see /metadata)", t)
					}
					types = append(types, t)
				}
			}
		case "_count":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 || n > maxCount {
				return nil, nil, bad("_count must be 0-%d", maxCount)
			}
			q.count = n
		case "_offset":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 {
				return nil, nil, bad("_offset must be a non-negative integer")
			}
			q.offset = n
		case "_format":
		default:
			return nil, nil, bad("$everything parameter %q is not supported: use _since, _type, _count", k)
		}
	}
	return q, types, nil
}
