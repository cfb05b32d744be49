// Package fhir is ehrchain's FHIR R4 layer: strict JSON parsing and validation against the
// official R4 element definitions (generated into r4.json.gz by ./gen), OperationOutcome,
// the mapping between FHIR resources and encrypted records (ids, categories, references),
// search over decrypted resources (and, to find a patient, the gateway's in-memory patient
// index, patientindex.go), the REST gateway mounted on the node's API under
// /fhir/r4, and the bulk importer of Synthea transaction Bundles.
//
// Search narrows before it reads: readerindex.go follows the audit log for whom each caller
// may read (grants, records written), chain.go runs chained parameters and _has, and
// include.go _include/_revinclude (with * and :iterate); every resource a search inspects
// or returns is still an audited read decided by consent.
//
// Sign-in: backend services and persons get tokens at auth/token (auth.go); a registered
// public app (smartapps.go) gets one through the SMART App Launch standalone flow
// (authorize.go: PKCE S256, the person's passphrase and second factor, an approval page;
// oauthcode.go: one-time codes), and its scopes (smartscope.go) are checked before any
// ledger read, consent deciding after them.
//
// Nothing here runs inside consensus: validation and search happen on the node that acts
// for an authenticated caller, before a record is encrypted and after it is decrypted.
package fhir
