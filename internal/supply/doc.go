// Package supply is the drug supply chain on the ledger (DSCSA over GS1 EPCIS 2.0):
// trading partners bound to the GS1 company prefixes and locations they own, and the
// capture of EPCIS events, each stored once under its Event Hash ID (internal/epcis).
// Its handlers run inside FinalizeBlock: they read only the transaction and the state.
// Schema validation reads GS1's schema from disk and so happens before broadcast, in the
// API; the handlers re-check what the contract relies on.
package supply
