package fhir

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/records"
)

// Chained search (R4 search.html 3.1.1.5.5) and reverse chaining with _has (3.1.1.8).
//
// A chain follows the reference parameters of refParams, link by link, to a parameter of
// the last type: patient.family, encounter.status, encounter.service-provider.name,
// subject:Patient.birthdate. A chain whose first link is the patient is answered from the
// patient index (it names the patients to search, findChained); the Patient has no
// reference this server follows, so that chain is one link. Any other chain stays within
// the patient of the resource it starts from: each link is a record of the same patient,
// read through the ledger (one audited read each) only if the caller may read it by this
// node's state; a record the caller may not read makes nothing match and records no
// denial.
//
// _has:Source:param:filter keeps the resources that a Source of the same patient points
// at through param and that matches filter: Patient?_has:Observation:subject:code=...
// Only the Source records the caller may read are looked into (one audited read each), so a
// record outside the caller's consent never makes a resource match.

// chain is a chained parameter whose first link is not the patient.
type chain struct {
	key   string
	links []refParam
	f     filter // on the last link's type
}

// has is one _has parameter: Source records pointing at the searched type through p,
// matching f.
type has struct {
	source string
	p      refParam
	f      filter
}

// parseChain reads a chained parameter of rt: to the Patient (patient.family) it is a
// filter on the patient, answered from the patient index; any other (encounter.status,
// encounter.service-provider.name) is a chain followed within the patient.
func parseChain(rt, k, v string) (toPatient *filter, c *chain, err error) {
	parts := strings.Split(k, ".")
	last := parts[len(parts)-1]
	unsupported := func(format string, args ...any) error {
		return fail(http.StatusBadRequest, "not-supported", "chained parameter %q: "+format+" (chains this server follows: the reference parameters listed as searchInclude in /metadata, e.g. patient.family, encounter.status, encounter.service-provider.name)", append([]any{k}, args...)...)
	}
	cur := rt
	var links []refParam
	for _, l := range parts[:len(parts)-1] {
		name, target, _ := strings.Cut(l, ":")
		rp, ok := refParams[cur][name]
		switch {
		case !ok:
			return nil, nil, unsupported("%s has no reference parameter %q this server follows", cur, name)
		case target != "" && target != rp.target:
			return nil, nil, unsupported("%s.%s points to %s, not %s", cur, name, rp.target, target)
		}
		links = append(links, rp)
		cur = rp.target
	}
	f, err := parseFilter(cur, last, v)
	if err != nil {
		return nil, nil, fail(http.StatusBadRequest, "invalid", "chained parameter %q: %v", k, err)
	}
	if links[0].target == "Patient" && len(links) == 1 {
		return &f, nil, nil
	}
	return nil, &chain{k, links, f}, nil
}

// parseHas reads _has:Source:param:filter (key without the value) on the searched type rt.
func parseHas(rt, k, v string) (has, error) {
	parts := strings.SplitN(strings.TrimPrefix(k, "_has:"), ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return has{}, fail(http.StatusBadRequest, "invalid", "%s: use _has:Type:reference:parameter=value (e.g. _has:Observation:subject:code=http://loinc.org|8302-2)", k)
	}
	src, ref, param := parts[0], parts[1], parts[2]
	rp, ok := refParams[src][ref]
	switch {
	case strings.HasPrefix(param, "_has"):
		return has{}, fail(http.StatusBadRequest, "not-supported", "%s: nested _has is not supported", k)
	case strings.Contains(param, "."):
		return has{}, fail(http.StatusBadRequest, "not-supported", "%s: a chain inside _has is not supported", k)
	case !ok:
		return has{}, fail(http.StatusBadRequest, "not-supported", "%s: %s:%s is not a reference this server follows (see searchRevInclude in /metadata)", k, src, ref)
	case rp.target != rt:
		return has{}, fail(http.StatusBadRequest, "invalid", "%s: %s:%s points to %s, not the searched type %s", k, src, ref, rp.target, rt)
	}
	f, err := parseFilter(src, param, v)
	if err != nil {
		return has{}, fail(http.StatusBadRequest, "invalid", "%s: %v", k, err)
	}
	return has{src, rp, f}, nil
}

// hitKey is a hit's "Type/id".
func hitKey(h hit) string { return h.m.ResourceType + "/" + h.m.RecordID }

// refsTo are the "Type/id" references of o at path that name a resource of type target.
func refsTo(o Object, path, target string) []string {
	var out []string
	for _, ref := range refsAt(o, path) {
		if rt, _, ok := strings.Cut(ref, "/"); ok && rt == target {
			out = append(out, ref)
		}
	}
	return out
}

// resolver reads the records that chains name, at most once per request: a "Type/id" of
// a patient is resolved to its head version if it is that patient's record and the
// caller may read it by this node's state, then read through the ledger.
type resolver struct {
	g     *Gateway
	s     *session
	pur   string
	facts map[string]access.Facts // by patient
	got   map[string]Object       // patient + " " + Type/id -> the resource, nil if none
}

func (g *Gateway) newResolver(s *session, pur string) *resolver {
	return &resolver{g: g, s: s, pur: pur, facts: map[string]access.Facts{}, got: map[string]Object{}}
}

// resolve reads the references (patient, "Type/id") not resolved yet, in parallel.
func (x *resolver) resolve(ctx context.Context, want [][2]string) error {
	v := x.g.b.View()
	var ms []*records.Meta
	for _, w := range want {
		key := w[0] + " " + w[1]
		if _, done := x.got[key]; done {
			continue
		}
		x.got[key] = nil
		rt, id, _ := strings.Cut(w[1], "/")
		m, err := x.g.headMeta(rt, id)
		if err != nil || m.Patient != w[0] {
			continue // not a record of this patient on the ledger: it matches nothing
		}
		f, ok := x.facts[w[0]]
		if !ok {
			f = records.AccessFacts(v, x.s.who, w[0], x.pur, x.g.Now(), emergency.Facts)
			x.facts[w[0]] = f
		}
		if !records.Readable(f, m, x.pur) {
			continue // outside the caller's consent: never read, never a match
		}
		ms = append(ms, m)
	}
	hs, err := x.g.readReadable(ctx, x.s, ms, x.pur)
	if err != nil {
		return err
	}
	for _, h := range hs {
		x.got[h.m.Patient+" "+hitKey(h)] = h.o
	}
	return nil
}

// keepChained keeps the hits for which c reaches a resource matching its filter, reading
// the links level by level (every reference of a level in one parallel round).
func (x *resolver) keepChained(ctx context.Context, hits []hit, c chain) ([]hit, error) {
	cur := make([][]string, len(hits)) // per hit, the references at the current link
	for i, h := range hits {
		cur[i] = refsTo(h.o, c.links[0].path, c.links[0].target)
	}
	for li := range c.links {
		var want [][2]string
		for i, refs := range cur {
			for _, r := range refs {
				want = append(want, [2]string{hits[i].m.Patient, r})
			}
		}
		if err := x.resolve(ctx, want); err != nil {
			return nil, err
		}
		for i, refs := range cur {
			var next []string
			for _, r := range refs {
				o := x.got[hits[i].m.Patient+" "+r]
				switch {
				case o == nil:
				case li == len(c.links)-1:
					if c.f.match(o) {
						next = append(next, r)
					}
				default:
					next = append(next, refsTo(o, c.links[li+1].path, c.links[li+1].target)...)
				}
			}
			cur[i] = slices.Compact(slices.Sorted(slices.Values(next)))
		}
	}
	var out []hit
	for i, h := range hits {
		if len(cur[i]) > 0 {
			out = append(out, h)
		}
	}
	return out, nil
}

// keepHas keeps the hits that a record of hs.source of the same patient, readable by the
// caller and matching hs.f, points at. It reads every readable hs.source record of each
// patient of the hits (one audited read each).
func (g *Gateway) keepHas(ctx context.Context, s *session, pur string, hits []hit, hs has) ([]hit, error) {
	var patients []string
	for _, h := range hits {
		if !slices.Contains(patients, h.m.Patient) {
			patients = append(patients, h.m.Patient)
		}
	}
	pointed := map[string]bool{} // patient + " " + Type/id
	for _, p := range patients {
		cands, err := g.candidates(ctx, s, func(t string) bool { return t == hs.source }, pur, &query{patient: p})
		if err != nil {
			if denied(err) {
				continue
			}
			return nil, err
		}
		srcs, err := g.readReadable(ctx, s, cands, pur)
		if err != nil {
			return nil, err
		}
		for _, src := range srcs {
			if hs.f.match(src.o) {
				for _, r := range refsTo(src.o, hs.p.path, hs.p.target) {
					pointed[p+" "+r] = true
				}
			}
		}
	}
	return slices.DeleteFunc(hits, func(h hit) bool { return !pointed[h.m.Patient+" "+hitKey(h)] }), nil
}

// narrow applies a query's within-patient chains and _has parameters to hits.
func (g *Gateway) narrow(ctx context.Context, s *session, pur string, hits []hit, q *query) ([]hit, error) {
	var err error
	if len(q.links) > 0 {
		x := g.newResolver(s, pur)
		for _, c := range q.links {
			if hits, err = x.keepChained(ctx, hits, c); err != nil {
				return nil, err
			}
		}
	}
	for _, hs := range q.has {
		if hits, err = g.keepHas(ctx, s, pur, hits, hs); err != nil {
			return nil, err
		}
	}
	return hits, nil
}
