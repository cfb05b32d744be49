package merklelog

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"testing"

	mproof "github.com/transparency-dev/merkle/proof"
)

func copyProof(p [][]byte) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = clone(p[i])
	}
	return out
}

func flipBit(b []byte, bit int) []byte {
	out := clone(b)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}

// inclusionShape is what RFC 6962 inclusion verification derives from
// (index, size): the number of audit path nodes below and above the point
// where the paths to index and size-1 diverge. Two sizes with the same shape
// for an index verify identically, so an inclusion proof alone cannot
// distinguish them: the size a root belongs to must come from a trusted
// checkpoint (here: the committed block).
func inclusionShape(index, size uint64) [2]int {
	inner := bits.Len64(index ^ (size - 1))
	return [2]int{inner, bits.OnesCount64(index >> inner)}
}

// consistencyShape is the analogue for consistency verification. It
// determines size1 exactly, so only size2 can have equivalent alternatives.
func consistencyShape(size1, size2 uint64) [3]int {
	if size1 == 0 || size1 >= size2 {
		return [3]int{-1, int(size1), int(size2)}
	}
	s := inclusionShape(size1-1, size2)
	return [3]int{int(size1), s[0], s[1]}
}

type checker struct {
	t      *testing.T
	probes int
}

func (c *checker) mustFail(err error, format string, args ...any) {
	c.t.Helper()
	c.probes++
	desc := fmt.Sprintf(format, args...)
	if err == nil {
		c.t.Errorf("%s: accepted", desc)
		return
	}
	var pe *ProofError
	if !errors.Is(err, ErrInvalidProof) || !errors.As(err, &pe) {
		c.t.Errorf("%s: error %v is not a *ProofError matching ErrInvalidProof", desc, err)
	}
}

func TestAdversarialInclusion(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	const n = 21
	leaves, _ := buildLog(t, db, l, "adv", n)
	roots := make([][]byte, n+1)
	for s := range roots {
		roots[s], _ = l.RootAt(uint64(s))
	}
	c := &checker{t: t}
	for _, tc := range []struct{ index, size uint64 }{
		{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 7}, {6, 8}, {0, 13}, {5, 13}, {12, 13}, {10, 13}, {16, 21}, {20, 21},
	} {
		index, size := tc.index, tc.size
		root, leaf := roots[size], leaves[index]
		p, err := l.InclusionProof(index, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(index, size, leaf, p, root); err != nil {
			t.Fatalf("(%d, %d): valid proof rejected: %v", index, size, err)
		}
		id := fmt.Sprintf("(%d, %d)", index, size)

		// Every single bit of every proof node.
		for i := range p {
			for bit := 0; bit < 8*HashSize; bit++ {
				q := copyProof(p)
				q[i] = flipBit(q[i], bit)
				c.mustFail(VerifyInclusion(index, size, leaf, q, root), "%s proof[%d] bit %d", id, i, bit)
			}
		}
		// Every single bit of the root, and other roots.
		for bit := 0; bit < 8*HashSize; bit++ {
			c.mustFail(VerifyInclusion(index, size, leaf, p, flipBit(root, bit)), "%s root bit %d", id, bit)
		}
		for s, r := range roots {
			if uint64(s) != size {
				c.mustFail(VerifyInclusion(index, size, leaf, p, r), "%s root of size %d", id, s)
			}
		}
		c.mustFail(VerifyInclusion(index, size, leaf, p, nil), "%s nil root", id)
		c.mustFail(VerifyInclusion(index, size, leaf, p, root[:HashSize-1]), "%s short root", id)
		// A different leaf: every bit flipped, every other leaf, the leaf hash
		// itself, an extra byte.
		for bit := 0; bit < 8*len(leaf); bit++ {
			c.mustFail(VerifyInclusion(index, size, flipBit(leaf, bit), p, root), "%s leaf bit %d", id, bit)
		}
		for j, other := range leaves {
			if uint64(j) != index {
				c.mustFail(VerifyInclusion(index, size, other, p, root), "%s leaf %d", id, j)
			}
		}
		c.mustFail(VerifyInclusion(index, size, LeafHash(leaf), p, root), "%s leaf hash as leaf", id)
		c.mustFail(VerifyInclusion(index, size, append(clone(leaf), 0), p, root), "%s extended leaf", id)
		// Every wrong index.
		for j := uint64(0); j < size+3; j++ {
			if j != index {
				c.mustFail(VerifyInclusion(j, size, leaf, p, root), "%s index %d", id, j)
			}
		}
		// Wrong sizes. Against the real root of the claimed size, every wrong
		// size fails. Against this root, every size with a different audit
		// path shape fails; sizes with the same shape are indistinguishable
		// by construction of RFC 6962 (see inclusionShape).
		for s := uint64(0); s <= 2*size+2; s++ {
			if s == size {
				continue
			}
			if s <= n && s > index {
				c.mustFail(VerifyInclusion(index, s, leaf, p, roots[s]), "%s size %d with its root", id, s)
			}
			err := VerifyInclusion(index, s, leaf, p, root)
			if s > index && inclusionShape(index, s) == inclusionShape(index, size) {
				if err != nil {
					t.Errorf("%s size %d: same-shape size unexpectedly rejected: %v", id, s, err)
				}
				continue
			}
			c.mustFail(err, "%s size %d", id, s)
		}
		c.mustFail(VerifyInclusion(index, size*2, leaf, p, root), "%s size*2", id)
		if size/2 > index {
			c.mustFail(VerifyInclusion(index, size/2, leaf, p, root), "%s size/2", id)
		}
		// Truncated and extended proofs.
		if len(p) > 0 {
			c.mustFail(VerifyInclusion(index, size, leaf, p[:len(p)-1], root), "%s drop last", id)
			c.mustFail(VerifyInclusion(index, size, leaf, p[1:], root), "%s drop first", id)
			c.mustFail(VerifyInclusion(index, size, leaf, nil, root), "%s nil proof", id)
			q := copyProof(p)
			q[len(q)-1] = q[len(q)-1][:HashSize-1]
			c.mustFail(VerifyInclusion(index, size, leaf, q, root), "%s short node", id)
			q = copyProof(p)
			q[0] = append(q[0], 0)
			c.mustFail(VerifyInclusion(index, size, leaf, q, root), "%s long node", id)
		}
		for _, extra := range [][]byte{root, LeafHash(leaf), make([]byte, HashSize), {}} {
			c.mustFail(VerifyInclusion(index, size, leaf, append(copyProof(p), extra), root), "%s appended %x", id, extra)
			c.mustFail(VerifyInclusion(index, size, leaf, append([][]byte{extra}, p...), root), "%s prepended %x", id, extra)
		}
		if len(p) > 1 {
			q := copyProof(p)
			q[0], q[1] = q[1], q[0]
			c.mustFail(VerifyInclusion(index, size, leaf, q, root), "%s swapped nodes", id)
		}
	}
	// Domain separation: an internal node cannot be passed off as a leaf.
	p, err := l.InclusionProof(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	lh0 := LeafHash(leaves[0])
	c.mustFail(VerifyInclusion(0, 2, append(clone(lh0), p[0]...), p[1:], roots[4]), "internal node as leaf")
	c.mustFail(VerifyInclusion(0, 2, append([]byte{1}, append(clone(lh0), p[0]...)...), p[1:], roots[4]), "prefixed internal node as leaf")
	if c.probes < 10000 {
		t.Fatalf("only %d probes", c.probes)
	}
	t.Logf("%d corrupted inclusion probes rejected", c.probes)
}

func TestAdversarialConsistency(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	const n = 21
	buildLog(t, db, l, "advc", n)
	roots := make([][]byte, n+1)
	for s := range roots {
		roots[s], _ = l.RootAt(uint64(s))
	}
	c := &checker{t: t}
	for _, tc := range []struct{ size1, size2 uint64 }{
		{1, 2}, {1, 13}, {2, 13}, {3, 4}, {4, 13}, {5, 13}, {6, 7}, {7, 8}, {12, 13}, {3, 21}, {13, 21}, {16, 21}, {20, 21},
	} {
		s1, s2 := tc.size1, tc.size2
		r1, r2 := roots[s1], roots[s2]
		p, err := l.ConsistencyProof(s1, s2)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConsistency(s1, s2, r1, r2, p); err != nil {
			t.Fatalf("(%d, %d): valid proof rejected: %v", s1, s2, err)
		}
		id := fmt.Sprintf("(%d, %d)", s1, s2)

		for i := range p {
			for bit := 0; bit < 8*HashSize; bit++ {
				q := copyProof(p)
				q[i] = flipBit(q[i], bit)
				c.mustFail(VerifyConsistency(s1, s2, r1, r2, q), "%s proof[%d] bit %d", id, i, bit)
			}
		}
		for bit := 0; bit < 8*HashSize; bit++ {
			c.mustFail(VerifyConsistency(s1, s2, flipBit(r1, bit), r2, p), "%s root1 bit %d", id, bit)
			c.mustFail(VerifyConsistency(s1, s2, r1, flipBit(r2, bit), p), "%s root2 bit %d", id, bit)
		}
		c.mustFail(VerifyConsistency(s1, s2, r2, r1, p), "%s swapped roots", id)
		for s, r := range roots {
			if uint64(s) != s1 {
				c.mustFail(VerifyConsistency(s1, s2, r, r2, p), "%s root1 of size %d", id, s)
			}
			if uint64(s) != s2 {
				c.mustFail(VerifyConsistency(s1, s2, r1, r, p), "%s root2 of size %d", id, s)
			}
		}
		c.mustFail(VerifyConsistency(s1, s2, nil, r2, p), "%s nil root1", id)
		c.mustFail(VerifyConsistency(s1, s2, r1, r2[:HashSize-1], p), "%s short root2", id)
		// Every wrong size1 fails, with the given or the real root.
		for s := uint64(0); s <= s2+2; s++ {
			if s == s1 {
				continue
			}
			c.mustFail(VerifyConsistency(s, s2, r1, r2, p), "%s size1 %d", id, s)
			if s <= s2 {
				c.mustFail(VerifyConsistency(s, s2, roots[s], r2, p), "%s size1 %d with its root", id, s)
			}
		}
		// Wrong size2: fails with the real root of the claimed size; with
		// this root it fails unless the shape is identical (see
		// consistencyShape).
		for s := uint64(0); s <= 2*s2+2; s++ {
			if s == s2 {
				continue
			}
			if s <= n && s >= s1 {
				c.mustFail(VerifyConsistency(s1, s, r1, roots[s], p), "%s size2 %d with its root", id, s)
			}
			err := VerifyConsistency(s1, s, r1, r2, p)
			if consistencyShape(s1, s) == consistencyShape(s1, s2) {
				if err != nil {
					t.Errorf("%s size2 %d: same-shape size unexpectedly rejected: %v", id, s, err)
				}
				continue
			}
			c.mustFail(err, "%s size2 %d", id, s)
		}
		c.mustFail(VerifyConsistency(s1, s2*2, r1, r2, p), "%s size2*2", id)
		// Truncated and extended proofs.
		c.mustFail(VerifyConsistency(s1, s2, r1, r2, nil), "%s empty proof", id)
		c.mustFail(VerifyConsistency(s1, s2, r1, r2, p[:len(p)-1]), "%s drop last", id)
		c.mustFail(VerifyConsistency(s1, s2, r1, r2, p[1:]), "%s drop first", id)
		for _, extra := range [][]byte{r1, r2, p[0], make([]byte, HashSize), {}} {
			c.mustFail(VerifyConsistency(s1, s2, r1, r2, append(copyProof(p), extra)), "%s appended %x", id, extra)
			c.mustFail(VerifyConsistency(s1, s2, r1, r2, append([][]byte{extra}, p...)), "%s prepended %x", id, extra)
		}
		if len(p) > 1 {
			q := copyProof(p)
			q[0], q[1] = q[1], q[0]
			c.mustFail(VerifyConsistency(s1, s2, r1, r2, q), "%s swapped nodes", id)
		}
	}
	// Trivial cases: size1 = 0 requires the empty root; size1 = size2
	// requires equal roots and an empty proof.
	if err := VerifyConsistency(0, 5, EmptyRoot(), roots[5], nil); err != nil {
		t.Fatal(err)
	}
	c.mustFail(VerifyConsistency(0, 5, roots[1], roots[5], nil), "size1=0 with non-empty root")
	c.mustFail(VerifyConsistency(0, 5, EmptyRoot(), roots[5], [][]byte{roots[1]}), "size1=0 with non-empty proof")
	if err := VerifyConsistency(5, 5, roots[5], roots[5], nil); err != nil {
		t.Fatal(err)
	}
	c.mustFail(VerifyConsistency(5, 5, roots[5], roots[4], nil), "size1=size2 different roots")
	c.mustFail(VerifyConsistency(5, 5, roots[5], roots[5], [][]byte{roots[5]}), "size1=size2 non-empty proof")
	c.mustFail(VerifyConsistency(6, 5, roots[6], roots[5], nil), "size1>size2")
	if c.probes < 10000 {
		t.Fatalf("only %d probes", c.probes)
	}
	t.Logf("%d corrupted consistency probes rejected", c.probes)
}

func TestVerifyErrorTypes(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "e", 9)
	p, err := l.InclusionProof(3, 9)
	if err != nil {
		t.Fatal(err)
	}
	root := l.Root()

	err = VerifyInclusion(3, 9, leaves[4], p, root)
	var rm mproof.RootMismatchError
	var pe *ProofError
	if !errors.As(err, &rm) || !errors.Is(err, ErrRootMismatch) || !errors.Is(err, ErrInvalidProof) || !errors.As(err, &pe) || pe.Kind != "inclusion" {
		t.Fatalf("root mismatch error %v not typed as expected", err)
	}
	if !bytes.Equal(rm.ExpectedRoot, root) {
		t.Fatal("RootMismatchError does not carry the expected root")
	}

	err = VerifyInclusion(3, 9, leaves[3], p[1:], root)
	if !errors.Is(err, ErrInvalidProof) || errors.Is(err, ErrRootMismatch) {
		t.Fatalf("wrong proof length error %v not typed as expected", err)
	}

	c, err := l.ConsistencyProof(3, 9)
	if err != nil {
		t.Fatal(err)
	}
	r3, _ := l.RootAt(3)
	err = VerifyConsistency(3, 9, r3, flipBit(root, 0), c)
	if !errors.Is(err, ErrRootMismatch) || !errors.As(err, &pe) || pe.Kind != "consistency" {
		t.Fatalf("consistency mismatch error %v not typed as expected", err)
	}
	if !bytes.Equal(LeafHash(leaves[0]), refLeafHash(leaves[0])) {
		t.Fatal("LeafHash is not the RFC 6962 leaf hash")
	}
}
