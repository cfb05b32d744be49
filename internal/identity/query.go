package identity

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strconv"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Queries that reveal care relationships (who is registered, who may read whom) are
// answered only to a registered identity that signs the request: Ed25519 with its on-chain
// key over chain, method, request URI and time, in the same headers as signed blob uploads.
// A query changes nothing, so a replay within QuerySkew only repeats an answer its
// requester was already given.
const (
	QueryHeaderIdentity  = "X-Ehrchain-Identity"
	QueryHeaderTime      = "X-Ehrchain-Time" // unix seconds
	QueryHeaderSignature = "X-Ehrchain-Signature"
)

// QuerySkew is how far a signed query's time may be from the serving node's clock.
const QuerySkew = 5 * time.Minute

// QueryBytes is what an identity signs to ask a query.
func QueryBytes(chainID, method, uri string, unix int64) []byte {
	b := []byte("ehrchain/query/v1\x00" + chainID + "\x00" + method + " " + uri + "\x00")
	return binary.BigEndian.AppendUint64(b, uint64(unix))
}

// SignQuery sets the headers that sign a query for identity id.
func SignQuery(h http.Header, chainID, id string, key ed25519.PrivateKey, method, uri string, now time.Time) {
	unix := now.Unix()
	h.Set(QueryHeaderIdentity, id)
	h.Set(QueryHeaderTime, strconv.FormatInt(unix, 10))
	h.Set(QueryHeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, QueryBytes(chainID, method, uri, unix))))
}

// CheckQuery authenticates a query. An unsigned one gives "" and no error: the caller
// decides what an anonymous caller may see. keyOf returns an active identity's on-chain
// signing key, nil for an unknown or deactivated one.
func CheckQuery(chainID, method, uri string, h http.Header, now time.Time, keyOf func(id string) ed25519.PublicKey) (string, *tx.Error) {
	id := h.Get(QueryHeaderIdentity)
	if id == "" && h.Get(QueryHeaderSignature) == "" {
		return "", nil
	}
	if _, ok := tx.ParseSigner(id); !ok {
		return "", Space.Err(CodeBadQuery, "%s must be a 40-hex identity id", QueryHeaderIdentity)
	}
	unix, err := strconv.ParseInt(h.Get(QueryHeaderTime), 10, 64)
	if err != nil {
		return "", Space.Err(CodeBadQuery, "%s must be unix seconds", QueryHeaderTime)
	}
	if t := time.Unix(unix, 0); t.Before(now.Add(-QuerySkew)) || t.After(now.Add(QuerySkew)) {
		return "", Space.Err(CodeBadQuery, "the query was signed at %s, more than %s from this node's clock", t.UTC().Format(time.RFC3339), QuerySkew)
	}
	pub := keyOf(id)
	if pub == nil {
		return "", Space.Err(CodeBadQuery, "identity %s is not registered or was deactivated", id)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get(QueryHeaderSignature))
	if err != nil || !ed25519.Verify(pub, QueryBytes(chainID, method, uri, unix), sig) {
		return "", Space.Err(CodeBadQuery, "the query's signature does not verify with the current key of %s over this chain, method and URI", id)
	}
	return id, nil
}
