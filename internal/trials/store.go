package trials

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Reader is the state the trials rules read.
type Reader interface{ Get(key []byte) []byte }

// Store is the state the trials handlers write.
type Store interface {
	Reader
	Set(key, value []byte)
	Append(leaf []byte) uint64
}

// Decision is one signed IRB act on a protocol version.
type Decision struct {
	Number    uint32    `json:"number"`
	Version   uint32    `json:"version"`
	Signature Signature `json:"signature"`
}

// Enrolment is one participant's enrolment.
type Enrolment struct {
	Participant  string    `json:"participant"`
	Site         string    `json:"site"`
	Arm          string    `json:"arm"`
	Investigator string    `json:"investigator"`
	Version      uint32    `json:"version"` // the approved protocol version enrolled under
	Height       int64     `json:"height"`
	Time         time.Time `json:"time"`
	Tx           string    `json:"tx"`
	// ConsentForm is the newest consent-form version the participant signed; Consents
	// every signature, oldest first (the enrolment's is the first).
	ConsentForm uint32    `json:"consent_form"`
	Consents    []Consent `json:"consents"`
	// Code is the participant's pseudonym in the trial's datasets (ParticipantCode).
	Code string `json:"code"`
	// Withdrawal is set once the participant withdrew; it never clears.
	Withdrawal *Withdrawal `json:"withdrawal,omitempty"`
}

// Consent is one signature of a consent-form version by the participant.
type Consent struct {
	Form   uint32    `json:"form"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Tx     string    `json:"tx"`
}

// Withdrawal is a participant's withdrawal from a trial.
type Withdrawal struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Tx     string    `json:"tx"`
	Reason string    `json:"reason,omitempty"`
}

// Posting is one results posting and what the contract found when comparing it.
type Posting struct {
	Number   uint32     `json:"number"`
	Outcomes []Reported `json:"outcomes"`
	Dataset  string     `json:"dataset_sha256,omitempty"`
	// DatasetExport is the number of the export event whose digest the dataset is (0: the
	// dataset was never exported on the ledger, or none is named), so a reader sees whether
	// the analysis used data consent allowed.
	DatasetExport uint32        `json:"dataset_export,omitempty"`
	ComparedWith  uint32        `json:"compared_with"` // the protocol version whose outcomes are the pre-specified ones
	Discrepancies []Discrepancy `json:"discrepancies"`
	Late          bool          `json:"late,omitempty"` // posted after the results deadline
	Signature     Signature     `json:"signature"`
}

func trialKey(id string) []byte              { return []byte("trial/" + id) }
func versionKey(id string, v uint32) []byte  { return fmt.Appendf(nil, "trialv/%s/%010d", id, v) }
func decisionKey(id string, n uint32) []byte { return fmt.Appendf(nil, "trialirb/%s/%010d", id, n) }
func enrolKey(id, participant string) []byte { return []byte("trialenr/" + id + "/" + participant) }
func postingKey(id string, n uint32) []byte  { return fmt.Appendf(nil, "trialres/%s/%010d", id, n) }

// EnrolPrefix lists a trial's enrolments (keys trialenr/<trial>/<participant>).
func EnrolPrefix(id string) []byte { return []byte("trialenr/" + id + "/") }

// Get loads a trial's head record, or nil.
func Get(r Reader, id string) *Trial { return load[Trial](r, trialKey(id)) }

// GetVersion loads one protocol version, or nil.
func GetVersion(r Reader, id string, v uint32) *Version { return load[Version](r, versionKey(id, v)) }

// Versions loads every protocol version, oldest first.
func Versions(r Reader, t *Trial) []*Version {
	out := make([]*Version, 0, t.Head)
	for v := uint32(1); v <= t.Head; v++ {
		out = append(out, GetVersion(r, t.ID, v))
	}
	return out
}

// Decisions loads every IRB decision, oldest first.
func Decisions(r Reader, t *Trial) []*Decision {
	out := make([]*Decision, 0, t.Decisions)
	for n := uint32(1); n <= t.Decisions; n++ {
		out = append(out, load[Decision](r, decisionKey(t.ID, n)))
	}
	return out
}

// GetEnrolment loads a participant's enrolment, or nil.
func GetEnrolment(r Reader, id, participant string) *Enrolment {
	return load[Enrolment](r, enrolKey(id, participant))
}

// Postings loads every results posting, oldest first.
func Postings(r Reader, t *Trial) []*Posting {
	out := make([]*Posting, 0, t.Results)
	for n := uint32(1); n <= t.Results; n++ {
		out = append(out, load[Posting](r, postingKey(t.ID, n)))
	}
	return out
}

func save(st Store, key []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	st.Set(key, b)
}

// load decodes a stored JSON value, or returns nil if the key is absent.
func load[T any](r Reader, key []byte) *T { return tx.LoadJSON[T](r, key, "trials") }

// mustTrial loads a registered trial or says it is not registered.
func mustTrial(r Reader, id string) (*Trial, *tx.Error) {
	if !idRe.MatchString(id) {
		return nil, Space.Err(CodeInvalid, "trial id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	t := Get(r, id)
	if t == nil {
		return nil, Space.Err(CodeNotRegistered, "trial %s is not registered", id)
	}
	return t, nil
}

// Prefix lists the trials' head records (keys trial/<id>); versions, decisions, enrolments
// and postings live under other prefixes, so iterating it yields one key per trial.
var Prefix = []byte("trial/")
