package app

import (
	"crypto/ed25519"
	"runtime"
	"sync"

	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/txsig"
)

// batchSize is the fewest signatures worth a batch of their own: a block's signatures are
// split over the processors only in parts at least this large, since a batch's cost per
// signature falls with its size.
const batchSize = 64

// verifyBlock checks the signatures of the block's transactions listed in todo against
// keys[i], in one batch per processor (txsig.VerifyBatch, whose result for each transaction
// is exactly what verifying it alone gives); it sets keys[i] to nil for each that does not
// verify. Each result is a pure function of the transaction and key, so the split is free.
func verifyBlock(decs []blockTx, keys [][]byte, todo []int) {
	if len(todo) == 0 {
		return
	}
	parts := min(runtime.GOMAXPROCS(0), (len(todo)+batchSize-1)/batchSize)
	var wg sync.WaitGroup
	for p := range parts {
		part := todo[p*len(todo)/parts : (p+1)*len(todo)/parts]
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs := make([]*tx.Envelope, len(part))
			pubs := make([]ed25519.PublicKey, len(part))
			for k, i := range part {
				envs[k], pubs[k] = decs[i].d.env, keys[i]
			}
			for k, ok := range txsig.VerifyBatch(envs, pubs) {
				if !ok {
					keys[part[k]] = nil
				}
			}
		}()
	}
	wg.Wait()
}
