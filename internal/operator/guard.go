package operator

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// Prefix is the path under which operator endpoints are mounted on the API listener.
const Prefix = "/v1/admin/"

// Require lets a request through to next only if it comes from a loopback address and
// carries "Authorization: Bearer <token>". Anything else gets 403 (not loopback) or 401
// (missing or wrong token) with a JSON error naming why.
func Require(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopback(r.RemoteAddr) {
			deny(w, http.StatusForbidden, "operator endpoints answer only on loopback")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			deny(w, http.StatusUnauthorized, "operator token missing or wrong (see HOME/"+TokenFile+")")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetToken adds the operator token to a client request.
func SetToken(r *http.Request, token string) { r.Header.Set("Authorization", "Bearer "+token) }

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func deny(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"codespace": "operator", "code": status, "log": msg})
}
