package fhir

import (
	"encoding/json"
	"net/http"
)

// SMART discovery (SMART App Launch 2.0, "Conformance"): a client finds the token endpoint
// and what it accepts before it has a token, so the document is public. Only what the
// gateway does is advertised: backend-services style client credentials with an EdDSA
// client assertion. There is no authorization endpoint (no user-facing app launch), so none
// is named.

// baseURL is [base] of this gateway as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}

// smartConfiguration is the discovery document for a request's base.
func smartConfiguration(base string) map[string]any {
	return map[string]any{
		"issuer":                                base,
		"token_endpoint":                        base + "/auth/token",
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"EdDSA"},
		"scopes_supported": []string{"system/*.*", "patient/*.*"},
		"capabilities":     []string{"client-confidential-asymmetric"},
	}
}

func (g *Gateway) smartConfig(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(smartConfiguration(baseURL(r)))
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// oauthURIs is the CapabilityStatement extension that points to the token endpoint.
func oauthURIs(base string) Object {
	return Object{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
		"extension": []any{Object{"url": "token", "valueUri": base + "/auth/token"}}}
}
