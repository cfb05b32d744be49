package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestBodiesKeepTheirJSON pins the JSON of the bodies that moved here from api, app and
// node: clients in the field decode these exact names.
func TestBodiesKeepTheirJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Result{Hash: "ab", Height: 3, Code: 2, Codespace: "records", Log: "no"},
			`{"hash":"ab","height":3,"code":2,"codespace":"records","log":"no"}`},
		{Result{Hash: "ab"}, `{"hash":"ab","height":0,"code":0}`},
		{TxError{Error: *Space.Err(CodeTimeout, "slow"), Hash: "ab"},
			`{"codespace":"api","code":4,"message":"slow","hash":"ab"}`},
		{SubmitRequest{Tx: "AA==", Wait: true}, `{"tx":"AA==","wait":true}`},
		{SubmitBatchResponse{Results: []Result{}, Error: &tx.Error{Codespace: "api", Code: 3, Message: "full"}},
			`{"results":[],"error":{"codespace":"api","code":3,"message":"full"}}`},
		{Status{ChainID: "c", Height: 1, BlockTime: time.Unix(0, 0).UTC(), Validators: []Validator{{Address: "a", PubKey: "k", Power: 1}}, LogSize: 5},
			`{"chain_id":"c","moniker":"","node_id":"","height":1,"app_hash":"","block_hash":"","block_time":"1970-01-01T00:00:00Z","catching_up":false,"validators":[{"address":"a","pub_key":"k","power":1}],"events":5,"blobs_missing":0,"blobs_pending":0}`},
		{Proof{Height: 1, Map: []byte{1}, LogSize: 2}, `{"height":1,"map":"AQ==","map_root":null,"log_root":null,"log_size":2,"app_hash":null}`},
	} {
		got, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%T:\n got %s\nwant %s", c.v, got, c.want)
		}
	}
}
