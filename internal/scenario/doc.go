// Package scenario holds end-to-end stories run against a real node: registration, encrypted
// records, consent, audited reads and revocation, as a patient, providers and an auditor
// would live them.
package scenario
