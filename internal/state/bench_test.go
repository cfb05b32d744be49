package state

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// BenchmarkBlockOf1000Writes is the state's share of a block of 1,000 record writes: 1,000
// transactions each setting three keys (a ~4 KB record and two small index entries) and
// appending one event, then the commit (IAVL version, log root, one synced batch). The
// reported figure is per block; divide by 1,000 for a write.
func BenchmarkBlockOf1000Writes(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 4096)
	rand.Read(value)
	h := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		h++
		for i := range 1000 {
			tx := s.Begin()
			k := fmt.Sprintf("rec/%d/%d", h, i)
			tx.Set([]byte(k), value)
			tx.Set([]byte(k+"/latest"), []byte{1})
			tx.PutIndex([]byte("pt/"+k), []byte{1})
			tx.Append(value[:200])
			tx.Flush()
		}
		if _, err := s.Commit(h); err != nil {
			b.Fatal(err)
		}
	}
}
