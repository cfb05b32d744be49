package wire

import "time"

// Status is the answer of GET /v1/status: the node's view of the chain.
type Status struct {
	ChainID    string      `json:"chain_id"`
	Moniker    string      `json:"moniker"`
	NodeID     string      `json:"node_id"`
	Height     int64       `json:"height"`
	AppHash    string      `json:"app_hash"`
	BlockHash  string      `json:"block_hash"`
	BlockTime  time.Time   `json:"block_time"`
	CatchingUp bool        `json:"catching_up"`
	Validators []Validator `json:"validators"`
	LogSize    uint64      `json:"events"`
	// BlobsMissing counts committed blob records whose ciphertext this node is still
	// fetching from peers; reads of them answer "unavailable" meanwhile.
	BlobsMissing int `json:"blobs_missing"`
	// BlobsPending counts uploads no committed record references yet; the sweep deletes
	// them after the grace period.
	BlobsPending int `json:"blobs_pending"`
}

// Validator is one member of the current validator set.
type Validator struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Power   int64  `json:"power"`
}
