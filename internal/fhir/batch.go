package fhir

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// maxBatch bounds the entries of a batch Bundle.
const maxBatch = 1000

// batch processes a batch Bundle (R4 http.html 3.1.0.11): each entry on its own, as if it
// had been sent alone with the caller's token and headers, so it gets exactly the checks,
// audited reads and answers of that interaction. A failed entry gets its own status and
// OperationOutcome and changes nothing for the others; the Bundle's answer is 200.
func (g *Gateway) batch(w http.ResponseWriter, r *http.Request, o Object) {
	raw, _ := o["entry"].([]any)
	if len(raw) > maxBatch {
		writeErr(w, fail(http.StatusRequestEntityTooLarge, "too-costly", "a batch holds at most %d entries, this one %d", maxBatch, len(raw)))
		return
	}
	entries := make([]any, 0, len(raw))
	for i, x := range raw {
		eo, _ := x.(Object)
		resp, res := g.batchEntry(r, i, eo)
		e := Object{"response": resp}
		if res != nil {
			e["resource"] = res
			if id, _ := res["id"].(string); id != "" {
				e["fullUrl"] = fullURL(r, res["resourceType"].(string), id)
			}
		}
		entries = append(entries, e)
	}
	writeResource(w, http.StatusOK, Object{"resourceType": "Bundle", "type": "batch-response", "entry": entries})
}

// batchEntry runs one entry and returns its Bundle.entry.response and the resource it
// answered with, if any.
func (g *Gateway) batchEntry(r *http.Request, i int, eo Object) (Object, Object) {
	failed := func(status int, format string, args ...any) (Object, Object) {
		return Object{"status": strconv.Itoa(status) + " " + http.StatusText(status),
			"outcome": NewOutcome("error", "invalid", "Bundle.entry["+strconv.Itoa(i)+"].request", format, args...)}, nil
	}
	req, _ := eo["request"].(Object)
	method, _ := req["method"].(string)
	u, _ := req["url"].(string)
	if req == nil || method == "" || u == "" {
		return failed(http.StatusBadRequest, "a batch entry needs request.method and request.url")
	}
	u = strings.TrimPrefix(strings.TrimPrefix(u, baseURL(r)), "/")
	if u == "" || strings.HasPrefix(u, "http:") || strings.HasPrefix(u, "https:") {
		return failed(http.StatusBadRequest, "request.url %q is not a resource of this server", req["url"])
	}
	var body []byte
	switch method {
	case "GET", "DELETE":
	case "POST", "PUT":
		res, _ := eo["resource"].(Object)
		if res == nil {
			return failed(http.StatusBadRequest, "a %s entry needs a resource", method)
		}
		if res["resourceType"] == "Bundle" {
			return failed(http.StatusBadRequest, "a batch entry cannot be a Bundle")
		}
		b, err := Marshal(res)
		if err != nil {
			return failed(http.StatusBadRequest, "resource: %v", err)
		}
		body = b
	default:
		return failed(http.StatusBadRequest, "request.method %q: use GET, POST, PUT or DELETE", method)
	}
	sub, err := http.NewRequestWithContext(r.Context(), method, Prefix+"/"+u, bytes.NewReader(body))
	if err != nil {
		return failed(http.StatusBadRequest, "request.url %q: %v", req["url"], err)
	}
	sub.Host, sub.TLS, sub.RemoteAddr = r.Host, r.TLS, r.RemoteAddr
	for _, h := range []string{"Authorization", "X-Purpose-Of-Use", "Prefer"} {
		if v := r.Header.Values(h); len(v) > 0 {
			sub.Header[h] = v
		}
	}
	sub.Header.Set("Content-Type", FHIRJSON)
	for k, h := range map[string]string{"ifMatch": "If-Match", "ifNoneExist": "If-None-Exist", "ifNoneMatch": "If-None-Match", "ifModifiedSince": "If-Modified-Since"} {
		if v, _ := req[k].(string); v != "" {
			sub.Header.Set(h, v)
		}
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, sub)
	out := Object{"status": strconv.Itoa(rec.Code) + " " + http.StatusText(rec.Code)}
	for k, h := range map[string]string{"location": "Location", "etag": "ETag"} {
		if v := rec.Header().Get(h); v != "" {
			out[k] = v
		}
	}
	if lm := rec.Header().Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			out["lastModified"] = t.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	res, err := Parse(rec.Body.Bytes())
	switch {
	case rec.Body.Len() == 0 || err != nil:
		return out, nil
	case rec.Code >= 400 || res["resourceType"] == "OperationOutcome":
		out["outcome"] = res
		return out, nil
	}
	return out, res
}

// withoutResources is a copy of a Bundle whose entries keep everything but their
// resources (an entry left empty is left out: batchEntry answers it).
func withoutResources(b Object) Object {
	out := Object{}
	for k, v := range b {
		out[k] = v
	}
	raw, _ := b["entry"].([]any)
	var entries []any
	for _, x := range raw {
		eo, ok := x.(Object)
		if !ok {
			entries = append(entries, x)
			continue
		}
		e := Object{}
		for k, v := range eo {
			if k != "resource" {
				e[k] = v
			}
		}
		if len(e) > 0 {
			entries = append(entries, e)
		}
	}
	delete(out, "entry")
	if len(entries) > 0 {
		out["entry"] = entries
	}
	return out
}
