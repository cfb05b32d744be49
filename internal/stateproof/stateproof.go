// Package stateproof checks a proof of one state value against an app hash. It is the
// verifying half of the state store's proofs, without the store: a client that only
// talks HTTP to a node verifies what it was given offline, importing neither consensus
// nor storage.
package stateproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// ErrNoProof: an answer that should carry a proof carries none.
var ErrNoProof = errors.New("no proof given")

// AppHash combines the state map's root, the event log's root and its size into the hash
// CometBFT puts in the next block header.
func AppHash(mapRoot, logRoot []byte, logSize uint64) []byte {
	h := sha256.New()
	h.Write([]byte("ehrchain/apphash/v1\x00"))
	h.Write(mapRoot)
	h.Write(logRoot)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], logSize)
	h.Write(n[:])
	return h.Sum(nil)
}

// Verify checks that value is key's value (nil: key is absent) in the state map whose
// root, with logRoot and logSize, hashes to appHash. mapProof is the ICS-23
// CommitmentProof, protobuf-encoded.
func Verify(appHash, mapRoot, logRoot []byte, logSize uint64, mapProof, key, value []byte) error {
	if !bytes.Equal(AppHash(mapRoot, logRoot, logSize), appHash) {
		return errors.New("proof roots do not hash to the trusted app hash")
	}
	var cp ics23.CommitmentProof
	if err := cp.Unmarshal(mapProof); err != nil {
		return fmt.Errorf("proof is malformed: %w", err)
	}
	spec := ics23.IavlSpec
	if value == nil {
		if !ics23.VerifyNonMembership(spec, mapRoot, &cp, key) {
			return errors.New("non-membership proof does not verify")
		}
		return nil
	}
	if !ics23.VerifyMembership(spec, mapRoot, &cp, key, value) {
		return errors.New("membership proof does not verify")
	}
	return nil
}
