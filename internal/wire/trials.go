package wire

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
)

// TrialSummary is one trial's public summary. Registrations are public by design; who is
// enrolled is not, so enrolment is a count and no participant id appears.
type TrialSummary struct {
	ID      string `json:"id"`
	Sponsor string `json:"sponsor"`
	IRB     string `json:"irb"`
	// Title and Status are the ResearchStudy's, of the version in force.
	Title             string `json:"title,omitempty"`
	Status            string `json:"status,omitempty"`
	RegisteredAt      int64  `json:"registered_at"`
	Version           uint32 `json:"version"`          // the protocol version in force
	Approved          bool   `json:"approved"`         // the version in force is approved by the IRB
	ApprovedVersion   uint32 `json:"approved_version"` // newest approved version; 0: none
	Enrolled          uint32 `json:"enrolled"`
	OutcomeSwitches   uint32 `json:"outcome_switches"`
	ResultsPosted     bool   `json:"results_posted"`
	Discrepancies     uint32 `json:"discrepancies"`
	PrimaryCompletion string `json:"primary_completion"`
	ResultsDue        string `json:"results_due,omitempty"` // last day results are on time, YYYY-MM-DD
	// Overdue is trials.Overdue at the last block time.
	Overdue bool `json:"overdue"`
}

// Trials is the answer of GET /v1/trials (?overdue=1: only the overdue ones).
type Trials struct {
	Height    int64          `json:"height"`
	BlockTime time.Time      `json:"block_time"`
	Trials    []TrialSummary `json:"trials"`
}

// TrialResponse is the answer of GET /v1/trials/{id}: the whole public record of a trial,
// every protocol version with its changes, every IRB decision and every results posting
// with its discrepancies. Enrolments are counted in the summary, never listed.
type TrialResponse struct {
	Height    int64              `json:"height"`
	BlockTime time.Time          `json:"block_time"`
	Summary   TrialSummary       `json:"summary"`
	Trial     *trials.Trial      `json:"trial"`
	Versions  []*trials.Version  `json:"versions"`
	Decisions []*trials.Decision `json:"decisions"`
	Postings  []*trials.Posting  `json:"postings"`
	// ConsentForms are the IRB-approved consent-form versions, oldest first (public: they
	// name no participant).
	ConsentForms []*trials.ConsentForm `json:"consent_forms"`
	// Exports are the dataset export events (digests and counts; no participant).
	Exports []*trials.Export `json:"exports"`
}

// TrialEnrolments is the answer of GET /v1/trials/{id}/enrolments: the enrolments the
// signed requester may see (trials.EnrolmentsVisible), with their consent signatures and
// withdrawals, in participant id order.
type TrialEnrolments struct {
	Height     int64               `json:"height"`
	Trial      string              `json:"trial"`
	Enrolments []*trials.Enrolment `json:"enrolments"`
}

// TrialConsentForms is the answer of GET /v1/trials/{id}/consent-forms (public).
type TrialConsentForms struct {
	Height       int64                 `json:"height"`
	Trial        string                `json:"trial"`
	InForce      uint32                `json:"in_force"` // the newest version; 0: none
	ConsentForms []*trials.ConsentForm `json:"consent_forms"`
}

// TrialDataset is the answer of GET /v1/trials/{id}/dataset to the trial's sponsor: the
// pseudonymised dataset as of Height, judged at BlockTime, the file's digest, and the
// export events so far. The file is Dataset's encoding (trials.Dataset.Encode).
type TrialDataset struct {
	Height    int64            `json:"height"`
	BlockTime time.Time        `json:"block_time"`
	Dataset   trials.Dataset   `json:"dataset"`
	Digest    string           `json:"dataset_sha256"`
	Exports   []*trials.Export `json:"exports"`
}
