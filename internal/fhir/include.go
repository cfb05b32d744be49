package fhir

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/records"
)

// refParam is a reference search parameter that _include, _revinclude, chains and _has
// follow: the element holding the Reference and the type it points to. Only references to
// records of the same patient are followed (the patient, encounters, and an encounter's
// service provider and participants, which Synthea and the gateway store as records of the
// patient), so every resource reached is found on the patient's record index.
type refParam struct {
	path, target string
}

// refParams are the reference parameters by source type (R4 SearchParameter
// expressions): patient (and subject where the path is subject) to the Patient, encounter
// to the Encounter, and Encounter's service-provider (Organization) and participant
// (Practitioner).
var refParams = map[string]map[string]refParam{}

func init() {
	patientPath := map[string]string{"AllergyIntolerance": "patient", "Claim": "patient", "ExplanationOfBenefit": "patient", "Immunization": "patient"}
	encounter := []string{"CarePlan", "Condition", "DiagnosticReport", "MedicationRequest", "Observation", "Procedure"}
	for _, rt := range Supported {
		switch rt {
		case "Patient", "Organization", "Practitioner":
			continue
		}
		ps := map[string]refParam{}
		if p, ok := patientPath[rt]; ok {
			ps["patient"] = refParam{p, "Patient"}
		} else {
			ps["patient"] = refParam{"subject", "Patient"}
			ps["subject"] = refParam{"subject", "Patient"}
		}
		if slices.Contains(encounter, rt) {
			ps["encounter"] = refParam{"encounter", "Encounter"}
		}
		if rt == "Encounter" {
			ps["service-provider"] = refParam{"serviceProvider", "Organization"}
			ps["participant"] = refParam{"participant.individual", "Practitioner"}
		}
		refParams[rt] = ps
	}
}

// incl is one _include or _revinclude: Source:param[:Target]; iterate also applies it to
// what the includes found (:iterate).
type incl struct {
	source, param string
	p             refParam
	iterate       bool
}

// parseIncl checks an _include (rev false) or _revinclude value against the searched type.
// An :iterate one may start from any type, since it applies to included resources too.
// The value * is every reference parameter: of the searched type for _include, pointing to
// it for _revinclude, of (or to) any type with :iterate.
func parseIncl(rt, v string, rev, iterate bool) ([]incl, error) {
	name := "_include"
	if rev {
		name = "_revinclude"
	}
	if iterate {
		name += ":iterate"
	}
	if v == "*" {
		return wildcard(rt, rev, iterate), nil
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fail(http.StatusBadRequest, "invalid", "%s=%s: use Type:parameter[:TargetType], or *", name, v)
	}
	p, ok := refParams[parts[0]][parts[1]]
	switch {
	case !ok:
		return nil, fail(http.StatusBadRequest, "not-supported", "%s=%s: %s:%s is not a reference this server follows (see /metadata)", name, v, parts[0], parts[1])
	case len(parts) == 3 && parts[2] != p.target:
		return nil, fail(http.StatusBadRequest, "invalid", "%s=%s: %s:%s points to %s", name, v, parts[0], parts[1], p.target)
	case !rev && !iterate && parts[0] != rt:
		return nil, fail(http.StatusBadRequest, "invalid", "_include=%s: the source must be the searched type %s (or use _include:iterate)", v, rt)
	case rev && !iterate && p.target != rt:
		return nil, fail(http.StatusBadRequest, "invalid", "_revinclude=%s: it points to %s, not the searched type %s (or use _revinclude:iterate)", v, p.target, rt)
	}
	return []incl{{parts[0], parts[1], p, iterate}}, nil
}

// wildcard is what _include=* (rev false) or _revinclude=* stands for, in a stable order.
func wildcard(rt string, rev, iterate bool) []incl {
	var out []incl
	for _, src := range Supported {
		if !iterate && !rev && src != rt {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(refParams[src])) {
			p := refParams[src][name]
			if rev && !iterate && p.target != rt {
				continue
			}
			if slices.ContainsFunc(out, func(in incl) bool { return in.source == src && in.p == p }) {
				continue // subject and patient: the same element
			}
			out = append(out, incl{src, name, p, iterate})
		}
	}
	return out
}

// refsAt are the "Type/id" references a resource holds at path.
func refsAt(o Object, path string) []string {
	var out []string
	for _, v := range values(o, path) {
		if r, ok := v.(Object); ok {
			if s, ok := r["reference"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// denied reports whether err is the ledger's refusal of a read (recorded on the ledger), or
// a record the caller holds no key of.
func denied(err error) bool {
	var ce *client.Error
	return errors.Is(err, client.ErrDenied) || errors.Is(err, client.ErrCannotDecrypt) ||
		(errors.As(err, &ce) && ce.Status == http.StatusForbidden)
}

// maxIncludeRounds bounds the rounds of :iterate (references here are at most
// Observation -> Encounter -> Patient deep, so this is never reached by a real chart).
const maxIncludeRounds = 8

// includes reads what the page's _include and _revinclude ask for, each an audited read.
// An _include names its target: it is read through the ledger, so a target outside the
// caller's consent is a denial on the ledger and is withheld (counted in withheld). A
// _revinclude has to look into every record of its source type to find those pointing at
// the page; it looks only at the records the caller may read, so it records no denials.
// Every include stays within the patient of the resource it starts from. The :iterate ones
// then apply to what was included, round after round, until nothing new is found.
func (g *Gateway) includes(ctx context.Context, s *session, pur string, page []hit, inc, rev []incl) (out []hit, withheld int, err error) {
	if len(page) == 0 {
		return nil, 0, nil
	}
	seen := map[string]bool{} // the page and what is included already
	for _, h := range page {
		seen[h.m.ResourceType+"/"+h.m.RecordID] = true
	}
	var iterInc, iterRev []incl
	for _, in := range inc {
		if in.iterate {
			iterInc = append(iterInc, in)
		}
	}
	for _, in := range rev {
		if in.iterate {
			iterRev = append(iterRev, in)
		}
	}
	from := page
	for round := 0; len(from) > 0 && round < maxIncludeRounds; round++ {
		if round > 0 {
			inc, rev = iterInc, iterRev
		}
		found, w, err := g.includeRound(ctx, s, pur, from, inc, rev, seen)
		if err != nil {
			return nil, 0, err
		}
		out, withheld, from = append(out, found...), withheld+w, found
	}
	return out, withheld, nil
}

// includeRound applies inc and rev to the resources in from, skipping what is in seen.
func (g *Gateway) includeRound(ctx context.Context, s *session, pur string, from []hit, inc, rev []incl, seen map[string]bool) (out []hit, withheld int, err error) {
	var metas []*records.Meta
	for _, in := range inc {
		for _, h := range from {
			if h.m.ResourceType != in.source {
				continue
			}
			for _, ref := range refsAt(h.o, in.p.path) {
				rt, id, ok := strings.Cut(ref, "/")
				if !ok || rt != in.p.target || seen[ref] {
					continue
				}
				m, err := g.headMeta(rt, id)
				if err != nil || m.Patient != h.m.Patient {
					continue // not a record of this patient on the ledger: nothing to include
				}
				seen[ref] = true
				metas = append(metas, m)
			}
		}
	}
	for _, m := range metas {
		vs, err := g.readRecord(ctx, s, m, pur, false)
		if denied(err) {
			withheld++
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, hit{m, vs[0]})
	}
	for _, in := range rev {
		pointed := map[string]bool{} // by patient: the Type/id of from that in may point at
		var patients []string
		for _, h := range from {
			if h.m.ResourceType != in.p.target {
				continue
			}
			if !slices.Contains(patients, h.m.Patient) {
				patients = append(patients, h.m.Patient)
			}
			pointed[h.m.Patient+" "+h.m.ResourceType+"/"+h.m.RecordID] = true
		}
		for _, patient := range patients {
			cands, err := g.candidates(ctx, s, func(t string) bool { return t == in.source }, pur, &query{patient: patient})
			if err != nil {
				return nil, 0, err
			}
			cands = slices.DeleteFunc(cands, func(m *records.Meta) bool { return seen[m.ResourceType+"/"+m.RecordID] })
			hs, err := g.readHits(ctx, s, cands, pur)
			if err != nil {
				return nil, 0, err
			}
			for _, h := range hs {
				key := h.m.ResourceType + "/" + h.m.RecordID
				if !seen[key] && slices.ContainsFunc(refsAt(h.o, in.p.path), func(ref string) bool { return pointed[patient+" "+ref] }) {
					seen[key] = true
					out = append(out, h)
				}
			}
		}
	}
	return out, withheld, nil
}
