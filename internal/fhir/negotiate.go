package fhir

import (
	"mime"
	"net/http"
	"strings"
)

// Format negotiation (R4 http.html "Content Types and encodings"): this server speaks JSON
// only, so a request that asks for XML or Turtle (by _format, which overrides Accept, or by
// Accept) gets 406, and a body sent as anything but JSON gets 415, both with an
// OperationOutcome, rather than a JSON answer the client did not ask for or a guess at what
// the body is.

// jsonType reports whether a media type (parameters stripped) is a JSON FHIR encoding;
// _format also takes the short "json".
func jsonType(t string, short bool) bool {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case FHIRJSON, "application/json", "application/json+fhir", "text/json":
		return true
	case "json":
		return short
	}
	return false
}

// acceptsJSON reports whether an Accept header admits JSON (a JSON type, or a wildcard
// covering it, with a non-zero q).
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		t, ps, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		if q := ps["q"]; q != "" && strings.Trim(q, "0.") == "" {
			continue // q=0: explicitly not acceptable
		}
		if t == "*/*" || t == "application/*" || jsonType(t, false) {
			return true
		}
	}
	return false
}

// negotiate checks a request's _format, Accept and Content-Type before the handler runs.
func negotiate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix+"/auth/") || strings.HasPrefix(r.URL.Path, Prefix+"/.well-known/") {
			h.ServeHTTP(w, r) // OAuth endpoints: form and JSON bodies, JSON answers
			return
		}
		if f := r.URL.Query()["_format"]; len(f) > 0 {
			if !jsonType(f[0], true) {
				writeOutcome(w, http.StatusNotAcceptable, NewOutcome("error", "not-supported", "_format", "_format=%s: this server answers in JSON only (_format=json or application/fhir+json)", f[0]))
				return
			}
		} else if a := r.Header.Values("Accept"); !acceptsJSON(strings.Join(a, ",")) {
			writeOutcome(w, http.StatusNotAcceptable, NewOutcome("error", "not-supported", "", "Accept: %s: this server answers in application/fhir+json only", strings.Join(a, ",")))
			return
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			ct := r.Header.Get("Content-Type")
			t, _, err := mime.ParseMediaType(ct)
			if ct == "" || err != nil || !jsonType(t, false) {
				writeOutcome(w, http.StatusUnsupportedMediaType, NewOutcome("error", "not-supported", "", "Content-Type %q: send the body as application/fhir+json", ct))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
