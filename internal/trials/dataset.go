package trials

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
)

// Dataset is a trial's pseudonymised dataset: one row per observation the reader may use,
// naming participants by their trial code. It holds no identity id (participant,
// investigator or sponsor) and no record id (a client chooses those, and may put a name in
// one); each row binds its record by the ciphertext's SHA-256, so whoever decrypts the
// records can prove which ones the dataset used.
type Dataset struct {
	Trial        string       `json:"trial"`
	AsOf         int64        `json:"as_of"` // observations recorded at or below this height
	Participants uint32       `json:"participants"`
	Records      uint32       `json:"records"`
	Rows         []DatasetRow `json:"rows"`
}

// DatasetRow is one observation in a dataset.
type DatasetRow struct {
	Participant  string    `json:"participant"` // the participant's trial code (ParticipantCode)
	Arm          string    `json:"arm"`
	Observation  uint32    `json:"observation"` // the trial's observation number
	Category     string    `json:"category"`
	ResourceType string    `json:"resource_type"`
	Recorded     time.Time `json:"recorded"`
	Digest       string    `json:"ciphertext_sha256"`
}

// DatasetFact is what BuildDataset needs of one observation, gathered by the caller from
// one state (DatasetFacts).
type DatasetFact struct {
	Observation *Observation
	Enrolment   *Enrolment
	// Readable: the dataset's reader may read the observation's record for research at
	// the time the dataset is built (its research grant is active and covers the record,
	// and the record is not erased).
	Readable bool
}

// BuildDataset is the dataset of facts as of height asOf: the observations recorded by
// then, of participants who have not withdrawn, whose records the reader may read. It is
// pure; the rows keep the observations' order.
func BuildDataset(trial string, asOf int64, facts []DatasetFact) Dataset {
	d := Dataset{Trial: trial, AsOf: asOf, Rows: []DatasetRow{}}
	seen := map[string]bool{}
	for _, f := range facts {
		o, e := f.Observation, f.Enrolment
		if o == nil || e == nil || o.Height > asOf || e.Withdrawal != nil || !f.Readable {
			continue
		}
		d.Rows = append(d.Rows, DatasetRow{Participant: e.Code, Arm: e.Arm, Observation: o.Number, Category: o.Category,
			ResourceType: o.ResourceType, Recorded: o.Time.UTC(), Digest: o.Digest})
		if !seen[e.Code] {
			seen[e.Code] = true
			d.Participants++
		}
	}
	d.Records = uint32(len(d.Rows))
	return d
}

// Encode is the dataset file: its JSON, the bytes the digest is over.
func (d *Dataset) Encode() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // plain struct: cannot fail
	}
	return b
}

// DatasetDigest is the SHA-256 of a dataset file, hex.
func DatasetDigest(file []byte) string {
	s := sha256.Sum256(file)
	return hex.EncodeToString(s[:])
}

// DatasetFacts gathers, from one state, the facts about each of t's observations that
// BuildDataset needs for reader at block time at.
func DatasetFacts(r records.IndexReader, t *Trial, reader *identity.Identity, at time.Time) []DatasetFact {
	out := make([]DatasetFact, 0, t.Observations)
	enrolments := map[string]*Enrolment{}
	facts := map[string]access.Facts{}
	for _, o := range Observations(r, t) {
		e, ok := enrolments[o.Participant]
		if !ok {
			e = GetEnrolment(r, t.ID, o.Participant)
			enrolments[o.Participant] = e
		}
		f, ok := facts[o.Participant]
		if !ok {
			f = records.AccessFacts(r, reader, o.Participant, access.Research, at, nil)
			facts[o.Participant] = f
		}
		m := records.Version(r, o.Record, o.Version)
		out = append(out, DatasetFact{Observation: o, Enrolment: e, Readable: m != nil && records.Readable(f, m, access.Research)})
	}
	return out
}
