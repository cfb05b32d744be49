package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/keys"
)

// domain separates the directory's hashes from every other SHA-256 of an identity id.
const domain = "ehrchain/shard-directory/v1"

// score is shard name's weight for a patient in rendezvous (highest random weight) hashing.
func score(name, patient string) uint64 {
	var buf [128]byte
	b := append(buf[:0], domain...)
	b = append(b, 0)
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, patient...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// HomeOf is the directory function: the name of patient's home shard among shards, by
// rendezvous hashing. Every shard name is scored with SHA-256 of (name, patient id) and the
// highest score wins (a tie, which 64-bit scores make vanishingly rare, goes to the smaller
// name). It depends on the set of names only, not their order, and adding a shard moves
// only the patients the new shard wins, about 1/(n+1) of them; with "hash mod n" almost all
// would move. The patient id must be an identity id (keys.ValidID).
func HomeOf(patient string, shards []string) (string, error) {
	if !keys.ValidID(patient) {
		return "", fmt.Errorf("patient id %q is not an identity id (%d lowercase hex characters)", patient, keys.IDLen)
	}
	if len(shards) == 0 {
		return "", fmt.Errorf("no shards to choose a home for patient %s from", patient)
	}
	best, bestScore := "", uint64(0)
	for i, s := range shards {
		sc := score(s, patient)
		if i == 0 || sc > bestScore || (sc == bestScore && s < best) {
			best, bestScore = s, sc
		}
	}
	return best, nil
}

// Home is patient's home shard in the network.
func (n *Network) Home(patient string) (Chain, error) {
	name, err := HomeOf(patient, n.ShardNames())
	if err != nil {
		return Chain{}, err
	}
	c, _ := n.Chain(name)
	return c, nil
}
