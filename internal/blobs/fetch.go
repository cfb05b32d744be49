package blobs

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Replication between nodes: a node that commits a record whose blob it lacks fetches the
// blob from its peers' APIs (GET /v1/blobs/{digest}) and stores it only if it hashes to the
// digest on chain. Blobs are ciphertext, but users get them only through audited reads, so a
// fetch is signed with the fetching node's p2p key (not its consensus key, which signs only
// votes) and served only to the node ids the serving node lists as peers.

// Headers of a signed fetch, besides HeaderTime and HeaderSignature (over FetchBytes).
const (
	HeaderNode    = "X-Ehrchain-Node"     // p2p node id (hex of the key's address)
	HeaderNodeKey = "X-Ehrchain-Node-Key" // base64 Ed25519 p2p public key
)

// FetchBytes is what a node signs to fetch a blob: domain, chain, digest and time.
func FetchBytes(chainID string, d [32]byte, unix int64) []byte {
	return signBytes("ehrchain/blobfetch/v1", chainID, d, uint64(unix))
}

// Signer signs fetch requests with a node's p2p key.
type Signer struct {
	ChainID string
	NodeID  string
	PubKey  []byte
	Sign    func(msg []byte) ([]byte, error)
}

// ErrUnavailable means no peer could provide the blob (down, or not holding it yet).
var ErrUnavailable = errors.New("no peer holds the blob or is reachable")

// Fetch gets blob d from the first peer (API base URL) that serves bytes hashing to d, and
// stores it. Bytes that do not hash to d are discarded and the next peer is tried.
func (s *Store) Fetch(ctx context.Context, hc *http.Client, peers []string, sg Signer, d [32]byte, max int64) error {
	if s.Has(d) {
		return nil
	}
	var errs []string
	for _, peer := range peers {
		data, err := fetchOne(ctx, hc, peer, sg, d, max)
		if err == nil {
			err = s.Put(d, data)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", peer, err))
	}
	return fmt.Errorf("%w: blob %x: %s", ErrUnavailable, d, strings.Join(errs, "; "))
}

func fetchOne(ctx context.Context, hc *http.Client, peer string, sg Signer, d [32]byte, max int64) ([]byte, error) {
	if !strings.Contains(peer, "://") {
		peer = "http://" + peer
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(peer, "/")+"/v1/blobs/"+hex.EncodeToString(d[:]), nil)
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	sig, err := sg.Sign(FetchBytes(sg.ChainID, d, now))
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderNode, sg.NodeID)
	req.Header.Set(HeaderNodeKey, base64.StdEncoding.EncodeToString(sg.PubKey))
	setSigned(req.Header, now, sig)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("peer sent more than %d bytes", max)
	}
	return data, nil
}

// CheckFetch authenticates a signed fetch: the key matches the node id, the time is fresh,
// the signature verifies. Whether that node may fetch is the caller's decision.
func CheckFetch(chainID string, d [32]byte, h http.Header, now time.Time) (nodeID string, err error) {
	nodeID = h.Get(HeaderNode)
	pub, err := base64.StdEncoding.DecodeString(h.Get(HeaderNodeKey))
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%s must be a base64 Ed25519 public key", HeaderNodeKey)
	}
	if sum := sha256.Sum256(pub); nodeID != hex.EncodeToString(sum[:20]) {
		return "", fmt.Errorf("%s %q is not the id of the key in %s", HeaderNode, nodeID, HeaderNodeKey)
	}
	unix, err := signedAt(h, "fetch", now)
	if err != nil {
		return "", err
	}
	if !verifySigned(h, pub, FetchBytes(chainID, d, unix)) {
		return "", errors.New("fetch signature does not verify with the node key")
	}
	return nodeID, nil
}

// Has reports whether the store holds a file for d (not re-hashed; Get checks).
func (s *Store) Has(d [32]byte) bool {
	_, err := os.Stat(s.path(d))
	return err == nil
}
