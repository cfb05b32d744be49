package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestSubmitBatch: transactions are admitted in order; admission stops at the first one
// refused (a sequence gap), which is reported with its code; malformed batches are 400.
func TestSubmitBatch(t *testing.T) {
	home, reg := nodetest.InitWith(t, app.Params{AllowNoop: true})
	r := nodetest.Start(t, home)
	ctx := context.Background()
	c := r.Client
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tx.ParseSigner(reg.ID)
	seq, err := c.Sequence(ctx, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	noop := func(s uint64) []byte {
		return tx.Sign(reg.Keys.Sign, signer, chainID, s, &app.Noop{Payload: []byte("x")}).Encode()
	}
	resp, err := c.SubmitBatch(ctx, [][]byte{noop(seq), noop(seq + 1), noop(seq + 3), noop(seq + 4)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 3 || resp.Results[0].Code != 0 || resp.Results[1].Code != 0 ||
		resp.Results[2].Codespace != string(tx.Space) || resp.Results[2].Code != tx.CodeBadSequence {
		t.Fatalf("results %+v", resp.Results)
	}
	// The same transactions again: already in the mempool or used.
	resp, err = c.SubmitBatch(ctx, [][]byte{noop(seq)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil && (len(resp.Results) != 1 || resp.Results[0].Code == 0) {
		t.Fatalf("a replayed transaction was admitted: %+v", resp)
	}
	// A forged signature is refused with its code.
	forged := noop(seq + 2)
	forged[len(forged)-1] ^= 1
	if resp, err = c.SubmitBatch(ctx, [][]byte{forged}); err != nil || resp.Results[0].Code != tx.CodeBadSignature {
		t.Fatalf("forged: %+v %v", resp, err)
	}
	for _, bad := range [][][]byte{nil, make([][]byte, api.MaxBatchTxs+1)} {
		_, err := c.SubmitBatch(ctx, bad)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
			t.Fatalf("%d transactions: %v", len(bad), err)
		}
	}
	req, _ := http.NewRequest("POST", c.Base+"/v1/txs", strings.NewReader(`{"txs":["%%%"]}`))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad base64: %v %v", res.StatusCode, err)
	}
}
