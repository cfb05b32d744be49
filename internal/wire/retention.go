package wire

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/erasure"
)

// RetentionPolicies is the answer of GET /v1/retention: the periods in force.
type RetentionPolicies struct {
	Height   int64            `json:"height"`
	Policies []erasure.Policy `json:"policies"`
}

// RetentionDue is the answer of GET /v1/retention/due: the records whose period had ended
// at the last block, those that may be expired and those a legal hold keeps.
type RetentionDue struct {
	Height int64          `json:"height"`
	At     time.Time      `json:"at"` // the last block's time, the clock the contract judges by
	Due    []*erasure.Due `json:"due"`
	Held   []*erasure.Due `json:"held"`
	More   bool           `json:"more,omitempty"` // the limit cut the list of due records
}
