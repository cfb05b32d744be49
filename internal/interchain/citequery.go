package interchain

import (
	"bytes"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/stateproof"
)

// Lister reads state entries under a prefix in key order.
type Lister interface {
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Citations lists a record's citations, in the order of the cited events' digests.
func Citations(r Lister, record string) []*Citation {
	var out []*Citation
	r.Iterate(CitationPrefix(record), func(_, v []byte) bool {
		out = append(out, decodeCitation(v))
		return true
	})
	return out
}

// ProvenCitation is a citation with the proof of its state value against this chain's
// app hash, so that whoever holds the record can show the dispense it cites to a third
// party that trusts only this chain's headers.
type ProvenCitation struct {
	Citation *Citation  `json:"citation"`
	Value    []byte     `json:"value"` // the exact state value under CitationKey
	Proof    StateProof `json:"proof"`
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
		case !bytes.Equal(c.Value, encode(c.Citation)):
			return fmt.Errorf("citation %d is not the proven value", i)
		}
		p := c.Proof
		if err := stateproof.Verify(appHash, p.MapRoot, p.LogRoot, p.LogSize, p.Map, CitationKey(a.Record, c.Citation.Digest), c.Value); err != nil {
			return fmt.Errorf("citation %d: %w", i, err)
		}
	}
	return nil
}
