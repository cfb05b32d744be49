// Package crosstx holds the bodies and answers of the transactions that rest on a proof of
// another chain's state (internal/interchain): a dispense citation, a provider's
// recognition, a home admission. It imports neither the consensus engine nor the store, so
// the Go client builds them; the rules that judge them are in internal/interchain.
package crosstx

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/stateproof"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Body types (the interchain range is 100-109).
const (
	TypeCite      tx.Type = 103 // a record cites a dispense proven on the supply chain
	TypeRecognise tx.Type = 104 // anyone proves a provider's entry on its home shard: recognised here
	TypeAdmit     tx.Type = 105 // the registrar admits (or withdraws) a client's chain as a home of providers
)

// maxBody bounds a body's JSON; the envelope's own limit is the real cap.
const maxBody = tx.MaxTxBytes

// DispenseResourceType is the FHIR resource a pharmacy writes for each pack it hands over
// (client.DispenseResourceType); only such a record cites a dispense.
const DispenseResourceType = "MedicationDispense"

// CiteBody cites, from the signer's MedicationDispense record Record, the dispense of pack
// EPC that the supply chain ClientID follows committed: Event is the value under
// supply.EventKey(Digest) in that chain's state, Proof its proof.
type CiteBody struct {
	Record   string      `json:"record"`
	ClientID string      `json:"client_id"`
	Digest   string      `json:"digest"` // hex SHA-256 of the event's hash id (supply.Digest)
	EPC      string      `json:"epc"`    // the pack, in any GS1 spelling the event may use
	Event    []byte      `json:"event"`
	Proof    *wire.Proof `json:"proof"`
}

// AdmitBody admits the chain client ClientID follows as a home of providers (Admit false
// withdraws it): a light client proves what another chain's state says, and admission is
// this chain's registrar deciding that what the other chain's registrar registered as a
// provider is a provider here too. A supply chain's client proves events, not clinicians.
type AdmitBody struct {
	ClientID string `json:"client_id"`
	Admit    bool   `json:"admit"`
}

// RecogniseBody proves the identity entry of provider Identity in the state of the chain
// ClientID follows: Entry is the value under identity.Key(Identity) there.
type RecogniseBody struct {
	ClientID string      `json:"client_id"`
	Identity string      `json:"identity"`
	Entry    []byte      `json:"entry"`
	Proof    *wire.Proof `json:"proof"`
}

// Type implements tx.Body.
func (*CiteBody) Type() tx.Type { return TypeCite }

// Type implements tx.Body.
func (*AdmitBody) Type() tx.Type { return TypeAdmit }

// Type implements tx.Body.
func (*RecogniseBody) Type() tx.Type { return TypeRecognise }

// Encode implements tx.Body.
func (b *CiteBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// Encode implements tx.Body.
func (b *AdmitBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// Encode implements tx.Body.
func (b *RecogniseBody) Encode(w *tx.Writer) { tx.PutJSON(w, b) }

// DecodeCite parses a citation.
func DecodeCite(raw []byte) (*CiteBody, error) {
	return tx.ReadJSON[CiteBody](raw, "dispense citation", maxBody)
}

// DecodeAdmit parses an admission.
func DecodeAdmit(raw []byte) (*AdmitBody, error) {
	return tx.ReadJSON[AdmitBody](raw, "home admission", maxBody)
}

// DecodeRecognise parses a recognition.
func DecodeRecognise(raw []byte) (*RecogniseBody, error) {
	return tx.ReadJSON[RecogniseBody](raw, "provider recognition", maxBody)
}

// Citation is what this chain keeps of a cited dispense: which record, which supply chain
// event, proven at which of that chain's heights.
type Citation struct {
	Record     string `json:"record"`
	Version    uint32 `json:"version"` // the record's version when cited
	ChainID    string `json:"chain_id"`
	Client     string `json:"client"`
	Height     int64  `json:"height"` // the supply chain's height the event is proven at
	Digest     string `json:"digest"`
	HashID     string `json:"hash_id"`
	EPC        string `json:"epc"` // canonical (GS1 Digital Link)
	BizStep    string `json:"biz_step"`
	CapturedBy string `json:"captured_by"` // the trading partner that captured the event there
	CitedBy    string `json:"cited_by"`
	CitedAt    int64  `json:"cited_at"` // our height
	Tx         string `json:"tx"`
}

// Encode is the stored form of a citation.
func (c *Citation) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain fields: cannot fail
	}
	return b
}

// DecodeCitation parses the stored form.
func DecodeCitation(v []byte) (*Citation, error) {
	var c Citation
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("citation is corrupt: %w", err)
	}
	return &c, nil
}

// CitationKey is the state key of record's citation of event digest.
func CitationKey(record, digest string) []byte {
	return []byte("interchain/cite/" + record + "/" + digest)
}

// CitationPrefix is the key prefix of a record's citations.
func CitationPrefix(record string) []byte { return []byte("interchain/cite/" + record + "/") }

// ProvenCitation is a citation with the proof of its state value against this chain's
// app hash, so that whoever holds the record can show the dispense it cites to a third
// party that trusts only this chain's headers.
type ProvenCitation struct {
	Citation *Citation  `json:"citation"`
	Value    []byte     `json:"value"` // the exact state value under CitationKey
	Proof    wire.Proof `json:"proof"`
}

// CitationsAnswer is a record's citations, read at this chain's Height.
type CitationsAnswer struct {
	Height    int64            `json:"height"`
	Record    string           `json:"record"`
	AppHash   []byte           `json:"app_hash,omitempty"` // as the serving node claims it: check against a header
	Citations []ProvenCitation `json:"citations"`
}

// Verify checks every citation of a against appHash, the app hash of this chain's state
// after block a.Height (from a header the checker trusts): each value is proven under its
// record's and event's key, and is the citation shown.
func (a *CitationsAnswer) Verify(appHash []byte) error {
	for i, c := range a.Citations {
		switch {
		case c.Citation == nil:
			return fmt.Errorf("citation %d is missing", i)
		case c.Citation.Record != a.Record:
			return fmt.Errorf("citation %d is of record %s, not %s", i, c.Citation.Record, a.Record)
		case c.Proof.Height != a.Height:
			return fmt.Errorf("citation %d is proven at height %d, the answer is of %d", i, c.Proof.Height, a.Height)
		case !bytes.Equal(c.Value, c.Citation.Encode()):
			return fmt.Errorf("citation %d is not the proven value", i)
		}
		p := c.Proof
		if err := stateproof.Verify(appHash, p.MapRoot, p.LogRoot, p.LogSize, p.Map, CitationKey(a.Record, c.Citation.Digest), c.Value); err != nil {
			return fmt.Errorf("citation %d: %w", i, err)
		}
	}
	return nil
}
