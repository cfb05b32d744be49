// Package emergency is break-glass access: a provider declares an emergency for a patient
// who cannot consent and, for a window measured in block time, may read the categories the
// patient left emergency-visible. Records are end-to-end encrypted, so the node's decision
// is not enough: the patient escrows each emergency-visible category key split k-of-n
// (Shamir over GF(256)) across custodian institutions, each share HPKE-sealed to one
// custodian. For an on-chain declaration each custodian re-seals its share to the declaring
// provider only, in a release transaction; the provider combines k of them. No institution
// alone, and no node, can open a record.
//
// Every declaration is a loud audit event (FHIR "Emergency Override Started", purpose
// ETREAT) the patient sees; the provider must justify it afterwards and an auditor reviews
// the justification. Patients may opt categories out. Declarations, releases and urgent
// writes under a declaration are ordered first in a block (see priority.go).
package emergency
