// Package claims is the insurance-claims smart contract: insurers publish versioned coverage
// plans as on-chain rules, enroll patients, decide prior authorizations and appeals and record
// payments; providers submit claims that reference an encounter record they authored, and
// the contract adjudicates each claim deterministically when its block executes (eligibility,
// coverage of each line, limits used so far, prior authorization, duplicates) by the plan
// version in force at the date of service. Amounts are integer cents; time is block time.
//
// Claims flow through the consent machinery: a claim is accepted only if the patient's
// active grant lets the insurer read, for the purpose "payment", claims about the encounter's
// category. The insurer receives the claim's line items (codes, charges, dates), never the
// encrypted chart. Every step is an audit event. Results are rendered as FHIR R4
// ClaimResponse and ExplanationOfBenefit resources, and Synthea's Claim and
// ExplanationOfBenefit resources parse into the claim model (fhir.go).
package claims
