package merklelog

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
)

const (
	benchLeafSize       = 200
	benchLeavesPerBlock = 1000
)

// benchLeaf returns a deterministic 200-byte leaf for index i.
func benchLeaf(buf []byte, i uint64) []byte {
	for j := 0; j+8 <= len(buf); j += 8 {
		binary.BigEndian.PutUint64(buf[j:], i*0x9e3779b97f4a7c15+uint64(j))
	}
	return buf
}

// appendBlock appends one block of leaves starting at index next, commits it
// like a block commit (without fsync, to measure the log rather than the disk)
// and returns the root.
func appendBlock(b *testing.B, db *pebble.DB, l *Log, buf []byte, next uint64) []byte {
	for j := uint64(0); j < benchLeavesPerBlock; j++ {
		l.Append(benchLeaf(buf, next+j))
	}
	root := l.StagedRoot()
	batch := db.NewBatch()
	if err := l.Commit(batch); err != nil {
		b.Fatal(err)
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		b.Fatal(err)
	}
	batch.Close()
	l.Committed()
	return root
}

func fillLog(b *testing.B, db *pebble.DB, l *Log, n uint64) {
	buf := make([]byte, benchLeafSize)
	for l.Size() < n {
		appendBlock(b, db, l, buf, l.Size())
	}
}

// BenchmarkAppendCommit measures appending and committing blocks of 1,000
// leaves of 200 bytes to logs that already hold 10^4 and 10^5 leaves. The
// ns/leaf metric should not grow with the size.
func BenchmarkAppendCommit(b *testing.B) {
	for _, size := range []uint64{1e4, 1e5} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			db := tempDB(b)
			l := mustOpen(b, db, testPrefix)
			fillLog(b, db, l, size)
			buf := make([]byte, benchLeafSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				appendBlock(b, db, l, buf, l.Size())
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLeavesPerBlock), "ns/leaf")
		})
	}
}

// BenchmarkInclusionProof measures building an inclusion proof from stored
// node hashes at full size, for logs of 10^4 and 10^5 leaves.
func BenchmarkInclusionProof(b *testing.B) {
	for _, size := range []uint64{1e4, 1e5} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			db := tempDB(b)
			l := mustOpen(b, db, testPrefix)
			fillLog(b, db, l, size)
			// Measure the read path, not background compactions left over
			// from filling the log.
			if err := db.Compact([]byte{testPrefix}, []byte{testPrefix + 1}, false); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.InclusionProof(uint64(i)*7919%size, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyInclusion measures offline verification of a proof.
func BenchmarkVerifyInclusion(b *testing.B) {
	db := tempDB(b)
	l := mustOpen(b, db, testPrefix)
	const size = 1e5
	fillLog(b, db, l, size)
	const index = 12345
	p, err := l.InclusionProof(index, size)
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := l.Leaf(index)
	if err != nil {
		b.Fatal(err)
	}
	root := l.Root()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := VerifyInclusion(index, size, leaf, p, root); err != nil {
			b.Fatal(err)
		}
	}
}
