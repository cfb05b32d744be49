// Package trials is the clinical-trial transparency ledger: a sponsor registers a trial with
// its pre-specified outcomes, the trial's ethics committee (IRB) approves each protocol
// version, amendments keep every version, site investigators enrol participants only into
// a registered and approved protocol, and the sponsor posts results that the contract
// compares with the pre-specified outcomes.
//
// The ledger's order of transactions is the evidence: enrolment before registration is
// refused, a change of primary outcomes after enrolment started is recorded as an outcome
// switch, and each result that departs from the registered outcomes is stored as a
// discrepancy. Signed steps carry the meaning of their signature (author, approval, review)
// and a reason, as 21 CFR Part 11 asks. The rules that decide (Compare, Changes, Overdue,
// BuildDataset) are pure functions of their arguments and block time.
//
// E-consent: the IRB approves consent-form versions; a participant is enrolled with the
// form in force and a research grant to the investigator, re-consents to each new form
// before further data is recorded, and may withdraw, after which nothing more is recorded
// or exported. Observations are encrypted records written through the records engine for
// purpose research; each dataset export is an event whose digest the contract recomputes.
package trials
