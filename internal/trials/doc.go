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
// and a reason, as 21 CFR Part 11 asks. The rules that decide (Compare, Changes, Overdue)
// are pure functions of their arguments and block time.
package trials
