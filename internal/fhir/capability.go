package fhir

import (
	"maps"
	"net/http"
	"slices"
)

// metadata is the CapabilityStatement: what this server really does, no more.
func (g *Gateway) metadata(w http.ResponseWriter, r *http.Request) {
	var rs []any
	for _, rt := range Supported {
		var sps []any
		for _, n := range []string{"patient", "_id", "_lastUpdated"} {
			typ := "reference"
			switch n {
			case "_id":
				typ = "token"
			case "_lastUpdated":
				typ = "date"
			}
			sps = append(sps, Object{"name": n, "type": typ})
		}
		names := make([]string, 0, len(params[rt]))
		for n := range params[rt] {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			typ := params[rt][n].kind
			sps = append(sps, Object{"name": n, "type": typ})
		}
		ia := []any{Object{"code": "read"}, Object{"code": "vread"}, Object{"code": "update"},
			Object{"code": "history-instance"}, Object{"code": "history-type"}, Object{"code": "create"}, Object{"code": "search-type"}}
		if rt == "Patient" {
			// A Patient is stored under the patient's identity id: PUT Patient/<id>.
			ia = []any{Object{"code": "read"}, Object{"code": "vread"}, Object{"code": "update"},
				Object{"code": "history-instance"}, Object{"code": "history-type"}, Object{"code": "search-type"}}
		}
		res := Object{"conditionalCreate": true, "conditionalUpdate": false, "conditionalDelete": "not-supported", "updateCreate": true,
			"readHistory": true, "versioning": "versioned-update", "conditionalRead": "not-match", "interaction": ia,
			"searchParam": sps, "type": rt}
		doc := "_count (at most 1000) and _offset page; _include and _revinclude (also :iterate, and * for every reference parameter); _has:Type:reference:parameter (one level); _summary=count|true|data|false and _elements subset the matches (tagged SUBSETTED)"
		if _, ok := sortDate(rt); ok {
			doc = "_sort=date|-date|_lastUpdated|-_lastUpdated; " + doc
		}
		if _, ok := refParams[rt]["patient"]; ok {
			doc += "; chained search on the patient: patient.name, patient.family, patient.given, patient.birthdate, patient.gender, patient.identifier (also subject:Patient.*), answered from the gateway's patient index"
		}
		if rt == "Encounter" || slices.ContainsFunc(slices.Collect(maps.Values(refParams[rt])), func(p refParam) bool { return p.target == "Encounter" }) {
			doc += "; chains through the references listed as searchInclude, within the patient (encounter.status, encounter.service-provider.name, service-provider.name, participant.family), each link an audited read"
		}
		if rt == "Patient" {
			doc = "Without patient=, a search by identifier, name, family, given (:exact, :contains), birthdate and gender looks among the patients whose Patient the caller may read, from the gateway's in-memory patient index; each match returned is an audited read. " + doc
		}
		res["documentation"] = doc
		if inc := includesOf(rt); len(inc) > 0 {
			res["searchInclude"] = inc
		}
		if rev := revIncludesOf(rt); len(rev) > 0 {
			res["searchRevInclude"] = rev
		}
		if rt == "Patient" {
			res["operation"] = []any{Object{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
				"documentation": "The records of the patient the caller may read, the Patient first; _type, _since and _count (with next links); each entry an audited read."}}
		}
		rs = append(rs, res)
	}
	rs = append(rs, Object{"type": "Consent", "documentation": "A Consent posted by the patient becomes a ledger grant; DELETE revokes it (log-in sessions only).",
		"interaction": []any{Object{"code": "read"}, Object{"code": "create"}, Object{"code": "delete"}, Object{"code": "search-type"}},
		"searchParam": []any{Object{"name": "patient", "type": "reference"}, Object{"name": "_id", "type": "token"}}})
	rs = append(rs, Object{"type": "AuditEvent", "documentation": "The ledger's audit trail, scoped to the caller (patient: about them; provider: their actions; auditor: all). Page with _count and the next link.",
		"interaction": []any{Object{"code": "search-type"}},
		"searchParam": []any{Object{"name": "patient", "type": "reference"}}})
	rs = append(rs, researchSubjectCapability())
	cs := Object{
		"resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-21", "kind": "instance",
		"fhirVersion": "4.0.1", "format": []any{"json"},
		"software":       Object{"name": "ehrchain FHIR gateway"},
		"implementation": Object{"description": "FHIR R4 over the ehrchain ledger: every resource is one record encrypted for its patient; every access is decided by the patient's consent and audited on the ledger before anything is released."},
		"rest": []any{Object{"mode": "server",
			"security": Object{"extension": []any{oauthURIs(baseURL(r))}, "cors": false, "service": []any{Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
				"description": "SMART Backend Services style: POST a client assertion (JWT, alg EdDSA, signed with the identity's Ed25519 key; iss=sub=identity id, aud=token URL, exp<=5 min, unique jti) to " + Prefix + "/auth/token; persons (patients; providers unlocked on this node) log in at " + Prefix + "/auth/login with {keystore, passphrase, otp}: their keystore on this node, its passphrase and the code of the authenticator app enrolled at the web portal; the registrar, auditors and insurers get no person-login token. Send X-Purpose-Of-Use (treatment, payment, operations, research, emergency)."},
			"resource":    rs,
			"interaction": []any{Object{"code": "transaction"}, Object{"code": "batch"}, Object{"code": "history-system"}},
			"compartment": []any{"http://hl7.org/fhir/CompartmentDefinition/patient"}}},
	}
	writeResource(w, http.StatusOK, cs)
}

// includesOf are the _include values a search of rt takes, sorted.
func includesOf(rt string) []any {
	var out []string
	for p, rp := range refParams[rt] {
		out = append(out, rt+":"+p, rt+":"+p+":"+rp.target)
	}
	slices.Sort(out)
	if len(out) > 0 {
		out = append(out, "*")
	}
	return anys(out)
}

// revIncludesOf are the _revinclude values a search of rt takes, sorted.
func revIncludesOf(rt string) []any {
	var out []string
	for src, ps := range refParams {
		for p, rp := range ps {
			if rp.target == rt {
				out = append(out, src+":"+p)
			}
		}
	}
	slices.Sort(out)
	if len(out) > 0 {
		out = append(out, "*")
	}
	return anys(out)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
