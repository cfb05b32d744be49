package testnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/cometbft/cometbft/p2p"

	"github.com/ehrchain/ehrchain/internal/node"
)

func loadNodeKey(t *testing.T, home string) ed25519.PrivateKey {
	t.Helper()
	nk, err := p2p.LoadNodeKey(node.Paths{Home: home}.NodeKey())
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.PrivateKey(nk.PrivKey.Bytes())
}

func nodeIDOf(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:20])
}
