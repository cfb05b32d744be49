package merklelog

import (
	"crypto/sha256"
	"math/bits"
)

// Independent from-scratch RFC 6962 (section 2.1) reference implementation,
// written directly against crypto/sha256 so it shares no code with the log.

func refLeafHash(d []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(d)
	return h.Sum(nil)
}

func refNode(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// split returns the largest power of two smaller than n (n >= 2).
func split(n int) int {
	return 1 << (bits.Len(uint(n-1)) - 1)
}

// refMTH computes MTH over leaf hashes.
func refMTH(lh [][]byte) []byte {
	switch n := len(lh); n {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		return lh[0]
	default:
		k := split(n)
		return refNode(refMTH(lh[:k]), refMTH(lh[k:]))
	}
}

// refPath computes PATH(m, D[n]).
func refPath(m int, lh [][]byte) [][]byte {
	n := len(lh)
	if n <= 1 {
		return [][]byte{}
	}
	k := split(n)
	if m < k {
		return append(refPath(m, lh[:k]), refMTH(lh[k:]))
	}
	return append(refPath(m-k, lh[k:]), refMTH(lh[:k]))
}

// refProof computes PROOF(m, D[n]).
func refProof(m int, lh [][]byte) [][]byte {
	if m == 0 || m == len(lh) {
		return [][]byte{}
	}
	return refSubproof(m, lh, true)
}

func refSubproof(m int, lh [][]byte, b bool) [][]byte {
	n := len(lh)
	if m == n {
		if b {
			return [][]byte{}
		}
		return [][]byte{refMTH(lh)}
	}
	k := split(n)
	if m <= k {
		return append(refSubproof(m, lh[:k], b), refMTH(lh[k:]))
	}
	return append(refSubproof(m-k, lh[k:], false), refMTH(lh[:k]))
}
