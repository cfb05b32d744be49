// Package auditreport is what an auditor makes of the ledger's audit events (package
// audit): an accounting of disclosures for a patient, a compliance report with anomaly
// rules, the review of emergency (break-glass) accesses, and their exports as JSON, CSV,
// one self-contained HTML page and FHIR AuditEvent bundles; and the one policy on the
// periods such reports may cover (period.go), which the CLI and the portal both apply.
// It runs outside consensus and reads events only; domain handlers never import it.
package auditreport
