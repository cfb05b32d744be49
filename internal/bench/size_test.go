package bench

import "testing"

// TestWriteTxSize: the write workload's transaction for a ~1.5 KB record (ciphertext, the
// patient's ML-KEM-768+X25519 wrap, the author's self wrap, signed) stays within 3,000 bytes.
func TestWriteTxSize(t *testing.T) {
	n, err := sampleSize(BaselineWrite, "bench-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(observation) < 1500 || n > 3000 {
		t.Fatalf("a write of a %d-byte record is %d bytes signed, want at most 3,000", len(observation), n)
	}
	t.Logf("a write of a %d-byte record is %d bytes signed", len(observation), n)
}
