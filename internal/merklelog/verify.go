package merklelog

import (
	"bytes"
	"errors"
	"fmt"

	mproof "github.com/transparency-dev/merkle/proof"
)

var (
	// ErrInvalidProof matches (errors.Is) every verification failure returned
	// by VerifyInclusion and VerifyConsistency.
	ErrInvalidProof = errors.New("merklelog: invalid proof")
	// ErrRootMismatch additionally matches failures where a well-formed proof
	// led to a root other than the expected one.
	ErrRootMismatch = errors.New("merklelog: root mismatch")
)

// ProofError is the error returned when a proof does not verify. It wraps the
// underlying cause, which may be the verification library's error (for
// example proof.RootMismatchError, reachable with errors.As), and matches
// ErrInvalidProof and, for root mismatches, ErrRootMismatch.
type ProofError struct {
	Kind string // "inclusion" or "consistency"
	Err  error
}

func (e *ProofError) Error() string {
	var rm mproof.RootMismatchError
	if errors.As(e.Err, &rm) {
		return fmt.Sprintf("merklelog: invalid %s proof: calculated root %x, expected %x", e.Kind, rm.CalculatedRoot, rm.ExpectedRoot)
	}
	return fmt.Sprintf("merklelog: invalid %s proof: %v", e.Kind, e.Err)
}

// Unwrap returns ErrInvalidProof, the underlying cause and, for root
// mismatches, ErrRootMismatch.
func (e *ProofError) Unwrap() []error {
	errs := []error{ErrInvalidProof, e.Err}
	var rm mproof.RootMismatchError
	if errors.As(e.Err, &rm) {
		errs = append(errs, ErrRootMismatch)
	}
	return errs
}

// LeafHash returns the RFC 6962 leaf hash SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) []byte {
	return hasher.HashLeaf(leaf)
}

// EmptyRoot returns the root of the empty log, SHA-256("").
func EmptyRoot() []byte {
	return hasher.EmptyRoot()
}

// VerifyInclusion checks that leaf is the entry at index in the log of the
// given size whose root is root, using an RFC 6962 audit path. It needs no
// access to a node. On failure it returns a *ProofError.
//
// As in RFC 6962, the proof binds the leaf to root; the pairing of root with
// size must come from a trusted source (e.g. a committed block).
func VerifyInclusion(index, size uint64, leaf []byte, proof [][]byte, root []byte) error {
	if err := checkHashes(proof, root); err != nil {
		return &ProofError{Kind: "inclusion", Err: err}
	}
	if err := mproof.VerifyInclusion(hasher, index, size, LeafHash(leaf), proof, root); err != nil {
		return &ProofError{Kind: "inclusion", Err: err}
	}
	return nil
}

// VerifyConsistency checks that the log of size2 with root root2 is an
// append-only extension of the log of size1 with root root1, using an RFC 6962
// consistency proof. For size1 = 0, root1 must be the empty root. It needs no
// access to a node. On failure it returns a *ProofError.
func VerifyConsistency(size1, size2 uint64, root1, root2 []byte, proof [][]byte) error {
	if err := checkHashes(proof, root1, root2); err != nil {
		return &ProofError{Kind: "consistency", Err: err}
	}
	if size1 == 0 && !bytes.Equal(root1, hasher.EmptyRoot()) {
		return &ProofError{Kind: "consistency", Err: mproof.RootMismatchError{ExpectedRoot: root1, CalculatedRoot: hasher.EmptyRoot()}}
	}
	if err := mproof.VerifyConsistency(hasher, size1, size2, proof, root1, root2); err != nil {
		return &ProofError{Kind: "consistency", Err: err}
	}
	return nil
}

func checkHashes(proof [][]byte, roots ...[]byte) error {
	for _, r := range roots {
		if len(r) != HashSize {
			return fmt.Errorf("root has %d bytes, want %d", len(r), HashSize)
		}
	}
	for i, h := range proof {
		if len(h) != HashSize {
			return fmt.Errorf("proof[%d] has %d bytes, want %d", i, len(h), HashSize)
		}
	}
	return nil
}
