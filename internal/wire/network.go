package wire

import "github.com/ehrchain/ehrchain/internal/validators"

// ValidatorList is the answer of GET /v1/validators: every validator the chain has had, with
// its institution; removed ones have power 0.
type ValidatorList struct {
	Height     int64                   `json:"height"`
	Validators []*validators.Validator `json:"validators"`
}
