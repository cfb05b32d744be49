// Package fhir is ehrchain's FHIR R4 layer: strict JSON parsing and validation against the
// official R4 element definitions (generated into r4.json.gz by ./gen), OperationOutcome,
// the mapping between FHIR resources and encrypted records (ids, categories, references),
// search over decrypted resources (and, to find a patient, the gateway's in-memory patient
// index, patientindex.go), the REST gateway mounted on the node's API under
// /fhir/r4, and the bulk importer of Synthea transaction Bundles.
//
// Nothing here runs inside consensus: validation and search happen on the node that acts
// for an authenticated caller, before a record is encrypted and after it is decrypted.
package fhir
