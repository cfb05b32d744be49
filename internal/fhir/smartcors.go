package fhir

import "net/http"

// cors answers the browser for a registered app's origin (the origin of one of its
// redirect URIs): a browser app reads the discovery document, exchanges its code and reads
// resources across origins. Tokens travel in the Authorization header, never in cookies,
// so CORS grants no ambient authority; other origins get no CORS headers. cors reports
// whether it answered a preflight.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	o := r.Header.Get("Origin")
	if !g.Apps.origin(o) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", o)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "ETag, Location, Content-Location, Last-Modified, WWW-Authenticate")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-Purpose-Of-Use")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
