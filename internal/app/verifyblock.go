package app

import (
	"github.com/ehrchain/ehrchain/internal/txsig"
)

// verifyBlock checks the signatures of the block's transactions listed in todo against
// keys[i], in one batch per processor (txsig.VerifyParallel, whose result for each
// transaction is exactly what verifying it alone gives); it sets keys[i] to nil for each
// that does not verify.
func verifyBlock(decs []blockTx, keys [][]byte, todo []int) {
	if len(todo) == 0 {
		return
	}
	items := make([]txsig.Item, len(todo))
	for k, i := range todo {
		items[k] = txsig.EnvelopeItem(decs[i].d.env, keys[i])
	}
	for k, ok := range txsig.VerifyParallel(items) {
		if !ok {
			keys[todo[k]] = nil
		}
	}
}
