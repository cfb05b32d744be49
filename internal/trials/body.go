package trials

import (
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Body types owned by this package (the trials range is 80-99).
const (
	TypeRegister tx.Type = 80 // sponsor registers a trial (protocol version 1)
	TypeApprove  tx.Type = 81 // the trial's IRB approves (or reviews) a protocol version
	TypeAmend    tx.Type = 82 // sponsor amends the protocol: a new version, the old ones kept
	TypeEnrol    tx.Type = 83 // a site investigator enrols a participant
	TypeResults  tx.Type = 84 // sponsor posts results per outcome
	// E-consent and data capture.
	TypeConsentForm tx.Type = 85 // the trial's IRB approves a consent-form version
	TypeReconsent   tx.Type = 86 // a participant signs the newest consent-form version
	TypeWithdraw    tx.Type = 87 // a participant withdraws from the trial
	TypeObserve     tx.Type = 88 // a site investigator records a trial observation (an encrypted record)
	TypeExport      tx.Type = 89 // the sponsor records a dataset export with its digest
	maxBody                 = 256 << 10
)

// Sign is what a signer states with a signed act: the meaning of the signature and why.
type Sign struct {
	Meaning Meaning `json:"meaning"`
	Reason  string  `json:"reason"`
}

// RegisterBody registers a trial.
type RegisterBody struct {
	Trial    string   `json:"trial"`
	IRB      string   `json:"irb"` // the ethics committee's identity (an auditor)
	Protocol Protocol `json:"protocol"`
	Sign     Sign     `json:"sign"`
}

// ApproveBody is the IRB's signed decision on one protocol version.
type ApproveBody struct {
	Trial   string `json:"trial"`
	Version uint32 `json:"version"`
	Sign    Sign   `json:"sign"`
}

// AmendBody restates the whole protocol as a new version.
type AmendBody struct {
	Trial    string   `json:"trial"`
	Protocol Protocol `json:"protocol"`
	Sign     Sign     `json:"sign"`
}

// EnrolBody enrols one participant at a site into an arm.
type EnrolBody struct {
	Trial       string `json:"trial"`
	Participant string `json:"participant"` // a patient identity
	Site        string `json:"site"`
	Arm         string `json:"arm"`
	ConsentForm uint32 `json:"consent_form"` // the consent-form version the participant signed
}

// ResultsBody posts results for the trial's outcomes.
type ResultsBody struct {
	Trial    string     `json:"trial"`
	Outcomes []Reported `json:"outcomes"`
	Dataset  string     `json:"dataset_sha256,omitempty"` // SHA-256 of the analysis dataset, hex
	Sign     Sign       `json:"sign"`
}

// Type implements tx.Body.
func (*RegisterBody) Type() tx.Type { return TypeRegister }

// Encode implements tx.Body.
func (b *RegisterBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeRegister parses a registration.
func DecodeRegister(raw []byte) (*RegisterBody, error) {
	return tx.ReadJSON[RegisterBody](raw, "trial registration", maxBody)
}

// Type implements tx.Body.
func (*ApproveBody) Type() tx.Type { return TypeApprove }

// Encode implements tx.Body.
func (b *ApproveBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeApprove parses an IRB decision.
func DecodeApprove(raw []byte) (*ApproveBody, error) {
	return tx.ReadJSON[ApproveBody](raw, "IRB decision", maxBody)
}

// Type implements tx.Body.
func (*AmendBody) Type() tx.Type { return TypeAmend }

// Encode implements tx.Body.
func (b *AmendBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeAmend parses a protocol amendment.
func DecodeAmend(raw []byte) (*AmendBody, error) {
	return tx.ReadJSON[AmendBody](raw, "protocol amendment", maxBody)
}

// Type implements tx.Body.
func (*EnrolBody) Type() tx.Type { return TypeEnrol }

// Encode implements tx.Body.
func (b *EnrolBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeEnrol parses an enrolment.
func DecodeEnrol(raw []byte) (*EnrolBody, error) {
	return tx.ReadJSON[EnrolBody](raw, "enrolment", maxBody)
}

// Type implements tx.Body.
func (*ResultsBody) Type() tx.Type { return TypeResults }

// Encode implements tx.Body.
func (b *ResultsBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeResults parses a results posting.
func DecodeResults(raw []byte) (*ResultsBody, error) {
	return tx.ReadJSON[ResultsBody](raw, "trial results", maxBody)
}

// ConsentFormBody is the IRB's approval of a consent-form version: the document's digest
// and the record categories participants consent to share.
type ConsentFormBody struct {
	Trial      string   `json:"trial"`
	Digest     string   `json:"consent_sha256"` // SHA-256 of the consent document, hex
	Categories []string `json:"categories"`
	Sign       Sign     `json:"sign"`
}

// Type implements tx.Body.
func (*ConsentFormBody) Type() tx.Type { return TypeConsentForm }

// Encode implements tx.Body.
func (b *ConsentFormBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeConsentForm parses a consent-form approval.
func DecodeConsentForm(raw []byte) (*ConsentFormBody, error) {
	return tx.ReadJSON[ConsentFormBody](raw, "consent form", maxBody)
}

// ReconsentBody is a participant's signature of the consent-form version in force.
type ReconsentBody struct {
	Trial       string `json:"trial"`
	ConsentForm uint32 `json:"consent_form"`
}

// Type implements tx.Body.
func (*ReconsentBody) Type() tx.Type { return TypeReconsent }

// Encode implements tx.Body.
func (b *ReconsentBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeReconsent parses a re-consent.
func DecodeReconsent(raw []byte) (*ReconsentBody, error) {
	return tx.ReadJSON[ReconsentBody](raw, "re-consent", maxBody)
}

// WithdrawBody is a participant's withdrawal from a trial.
type WithdrawBody struct {
	Trial  string `json:"trial"`
	Reason string `json:"reason,omitempty"` // optional: a participant need not say why
}

// Type implements tx.Body.
func (*WithdrawBody) Type() tx.Type { return TypeWithdraw }

// Encode implements tx.Body.
func (b *WithdrawBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeWithdraw parses a withdrawal.
func DecodeWithdraw(raw []byte) (*WithdrawBody, error) {
	return tx.ReadJSON[WithdrawBody](raw, "withdrawal", maxBody)
}

// ObserveBody is a trial observation: an encrypted record write (the records envelope,
// unchanged) made for research in a trial.
type ObserveBody struct {
	Trial string
	Put   records.PutBody
}

// maxObserve bounds the encoded record inside an observation: the inline ciphertext limit
// plus its metadata and wrapped keys.
const maxObserve = records.InlineMax + 8<<10

// Type implements tx.Body.
func (*ObserveBody) Type() tx.Type { return TypeObserve }

// Encode implements tx.Body: the trial id, then the record write as records encodes it.
func (b *ObserveBody) Encode(w *tx.Writer) {
	w.String(b.Trial)
	pw := tx.NewWriter(len(b.Put.Ciphertext) + 4096)
	b.Put.Encode(pw)
	w.PutBytes(pw.Bytes())
}

// DecodeObserve parses a trial observation.
func DecodeObserve(raw []byte) (*ObserveBody, error) {
	r := tx.NewReader(raw)
	b := &ObserveBody{Trial: r.String("trial", 64)}
	put := r.Bytes("record", maxObserve)
	if err := r.Done(); err != nil {
		return nil, err
	}
	p, err := records.DecodePut(put)
	if err != nil {
		return nil, err
	}
	b.Put = *p
	return b, nil
}

// ExportBody is the sponsor's record of a dataset export: the digest and counts of the
// dataset (BuildDataset) as of a height, which the contract recomputes.
type ExportBody struct {
	Trial        string `json:"trial"`
	AsOf         int64  `json:"as_of"`
	Dataset      string `json:"dataset_sha256"`
	Participants uint32 `json:"participants"`
	Records      uint32 `json:"records"`
	Sign         Sign   `json:"sign"`
}

// Type implements tx.Body.
func (*ExportBody) Type() tx.Type { return TypeExport }

// Encode implements tx.Body.
func (b *ExportBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeExport parses a dataset export event.
func DecodeExport(raw []byte) (*ExportBody, error) {
	return tx.ReadJSON[ExportBody](raw, "dataset export", maxBody)
}
