package fhir

import (
	"encoding/json"
	"net/http"
)

// SMART discovery (SMART App Launch 2.0, "Conformance"): a client finds the endpoints
// and what they accept before it has a token, so the document is public. Only what the
// gateway does is advertised: backend-services style client credentials with an EdDSA
// client assertion, and the standalone launch of a registered public app (authorization
// code with PKCE S256) for a patient or a provider who signs in with a second factor.

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
		"issuer":                                           base,
		"authorization_endpoint":                           base + "/auth/authorize",
		"token_endpoint":                                   base + "/auth/token",
		"grant_types_supported":                            []string{"authorization_code", "client_credentials"},
		"response_types_supported":                         []string{"code"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt", "none"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"EdDSA"},
		"scopes_supported": []string{"launch/patient", "patient/*.read", "patient/*.rs", "user/*.read", "user/*.rs",
			"patient/Patient.read", "patient/Observation.read", "patient/Observation.rs", "user/Observation.read", "system/*.*"},
		"capabilities": []string{"launch-standalone", "client-public", "client-confidential-asymmetric",
			"context-standalone-patient", "permission-patient", "permission-user", "permission-v1", "permission-v2"},
	}
}

func (g *Gateway) smartConfig(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(smartConfiguration(baseURL(r)))
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// oauthURIs is the CapabilityStatement extension that points to the OAuth endpoints.
func oauthURIs(base string) Object {
	return Object{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
		"extension": []any{Object{"url": "authorize", "valueUri": base + "/auth/authorize"}, Object{"url": "token", "valueUri": base + "/auth/token"}}}
}
