package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestReadsVerifiedTogetherAnswerEachAlone: read requests arriving at once have their
// signatures verified together when their batch is sent. A forged request or one by an
// unregistered requester among them is refused on its own, with its reason, and every
// other request of the same moment is decided and recorded.
func TestReadsVerifiedTogetherAnswerEachAlone(t *testing.T) {
	home, reg := initHome(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cast := nodetest.RegisterCast(t, ctx, r.Client, reg)
	chainID, err := r.Client.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := keys.NewKeystore("stranger")

	const n = 300 // more than one verification part per processor
	forged := map[int]bool{0: true, 151: true, n - 1: true}
	const unregistered = 77
	qs := make([]*records.ReadRequest, n)
	for i := range qs {
		who := cast.Provider
		if i == unregistered {
			who = stranger
		}
		q := &records.ReadRequest{ChainID: chainID, Requester: who.ID, Patient: cast.Patient.ID, Purpose: access.Treatment,
			NotAfter: time.Now().Add(time.Minute).Unix()}
		rand.Read(q.Nonce[:])
		q.Sign(who.Keys.Sign)
		if forged[i] {
			q.Signature[5] ^= 1
		}
		qs[i] = q
	}
	outs := make([]*records.Outcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = r.Node.Read(ctx, q)
		}()
	}
	wg.Wait()

	batches := map[string]bool{}
	for i := range qs {
		var te *tx.Error
		switch {
		case forged[i]:
			if !errors.As(errs[i], &te) || te.Code != tx.CodeBadSignature {
				t.Fatalf("forged request %d: %v, want a bad-signature refusal", i, errs[i])
			}
		case i == unregistered:
			if !errors.As(errs[i], &te) || te.Code != tx.CodeUnknownSigner {
				t.Fatalf("request %d by an unregistered requester: %v, want unknown signer", i, errs[i])
			}
		case errs[i] != nil:
			t.Fatalf("good request %d failed beside the bad ones: %v", i, errs[i])
		default:
			if outs[i] == nil || outs[i].Tx == "" || outs[i].Event == 0 {
				t.Fatalf("good request %d: outcome %+v, want a decision recorded with its event", i, outs[i])
			}
			batches[outs[i].Tx] = true
		}
		if stored := records.Result(r.Node.View(), qs[i]); (stored != nil) != (errs[i] == nil) {
			t.Fatalf("request %d: refused=%v but recorded=%v", i, errs[i] != nil, stored != nil)
		}
	}
	t.Logf("%d requests went out in %d batch transactions", n-len(forged)-1, len(batches))
}
