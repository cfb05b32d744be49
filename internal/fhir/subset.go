package fhir

import "slices"

// _summary and _elements (R4 search.html 3.1.1.5.8-9): a search can ask for part of each
// matched resource. A part is marked with the SUBSETTED tag so that no client mistakes it for
// the whole resource and writes it back over the stored one.

// subsettedTag is the meta.tag of a resource returned in part.
var subsettedTag = Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED", "display": "subsetted"}

// isElement reports whether name is a top-level element of the resource type (a choice
// element by its name without [x]).
func isElement(rt, name string) bool {
	n := r4().nodes[rt]
	if n == nil {
		return false
	}
	return n.byName[name] != nil || slices.ContainsFunc(n.choices, func(e *elem) bool { return e.Name == name })
}

// subset applies the query's _summary (true or data) or _elements to a matched resource.
func subset(rt string, o Object, q *query) Object {
	var out Object
	switch {
	case q.summary == "true":
		out = summaryOf(rt, o)
	case q.summary == "data":
		out = Object{}
		for k, v := range o {
			if k != "text" {
				out[k] = v
			}
		}
	case len(q.elems) > 0:
		out = Object{"resourceType": o["resourceType"]}
		n := r4().nodes[rt]
		for k, v := range o {
			name := k
			if len(k) > 1 && k[0] == '_' {
				name = k[1:]
			}
			e, _ := n.find(name)
			if k == "id" || k == "meta" || (e != nil && (e.Min > 0 || slices.Contains(q.elems, e.Name))) {
				out[k] = v
			}
		}
	default:
		return o
	}
	meta, _ := out["meta"].(Object)
	m := Object{}
	for k, v := range meta {
		m[k] = v
	}
	tags, _ := m["tag"].([]any)
	m["tag"] = append(append([]any{}, tags...), subsettedTag)
	out["meta"] = m
	return out
}

// summaryOf keeps the elements the R4 definitions mark isSummary, in backbone elements too.
func summaryOf(nodePath string, o Object) Object {
	n := r4().nodes[nodePath]
	out := Object{}
	if rt, ok := o["resourceType"]; ok {
		out["resourceType"] = rt
	}
	if n == nil {
		return out
	}
	for k, v := range o {
		name := k
		if len(k) > 1 && k[0] == '_' {
			name = k[1:]
		}
		e, _ := n.find(name)
		if e == nil || !e.Sum {
			continue
		}
		if e.Ref == "" || r4().nodes[e.Ref] == nil {
			out[k] = v
			continue
		}
		switch x := v.(type) {
		case Object:
			out[k] = summaryOf(e.Ref, x)
		case []any:
			arr := make([]any, 0, len(x))
			for _, it := range x {
				if io, ok := it.(Object); ok {
					arr = append(arr, summaryOf(e.Ref, io))
				} else {
					arr = append(arr, it)
				}
			}
			out[k] = arr
		default:
			out[k] = v
		}
	}
	return out
}
