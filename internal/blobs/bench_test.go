package blobs

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"
)

// What authentication adds to an upload: BenchmarkCheckUpload (one Ed25519 verification
// over a few dozen bytes, independent of the blob's size) against BenchmarkUpload1MiB (the
// digest check and the durable write the node did before). Compare within one run.

func BenchmarkCheckUpload(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	id := strings.Repeat("ab", 20)
	d := sha256.Sum256([]byte("blob"))
	now := time.Now()
	h := http.Header{}
	SignUpload(h, "c", id, priv, d, 1<<20, now)
	keyOf := func(string) ed25519.PublicKey { return pub }
	b.ResetTimer()
	for b.Loop() {
		if _, err := CheckUpload("c", d, 1<<20, h, now, keyOf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpload1MiB(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s.SetPolicy(Policy{Grace: time.Hour, Quota: 1 << 62})
	data := make([]byte, 1<<20)
	rand.Read(data)
	now := time.Now()
	b.SetBytes(int64(len(data)))
	var i uint64
	for b.Loop() {
		i++
		binary.BigEndian.PutUint64(data, i) // a new blob each time
		if err := s.Upload(sha256.Sum256(data), data, "alice", now); err != nil {
			b.Fatal(err)
		}
	}
}
