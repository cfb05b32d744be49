package txsig

import (
	"crypto/ed25519"
	"fmt"
	"testing"
)

// BenchmarkVerify compares, per signature, the standard library,
// the single check transactions use, and batches of several sizes.
func BenchmarkVerify(b *testing.B) {
	envs, keys := signedMany(b, 128)
	b.Run("stdlib", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e := envs[i%len(envs)]
			ed25519.Verify(keys[i%len(envs)], e.SignBytes(), e.Signature)
		}
	})
	b.Run("single", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			Verify(envs[i%len(envs)], keys[i%len(envs)])
		}
	})
	for _, n := range []int{4, 16, 64, 128} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			for b.Loop() {
				VerifyItems(itemsOf(envs[:n], keys[:n]))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/sig")
		})
	}
}
