package claims

import (
	"cmp"
	"crypto/ed25519"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Query kinds.
const (
	QueryClaim     = "claim"     // one claim, by id
	QueryAuth      = "priorauth" // one prior authorization, by id
	QueryList      = "list"      // every claim and prior authorization the requester is a party to
	QueryCoverage  = "coverage"  // a patient's coverages (the patient, or an insurer for its own)
	MaxQueryAge    = 10 * time.Minute
	queryDomain    = "ehrchain/claims-query/v1"
	maxQueryIDSize = 64
)

// Query is a signed request to see claims data. Claims are plaintext in the node's state
// (the contract must read them), so nodes answer only the parties to a claim: its provider,
// its patient and its insurer. Like audit queries, it is answered off the ledger; the
// signature, nonce and validity window make it usable only by its signer, once per node.
type Query struct {
	ChainID   string
	Requester string
	Kind      string
	ID        string
	Nonce     [16]byte
	NotAfter  int64 // unix seconds
	Signature []byte
}

func (q *Query) encodeUnsigned(w *tx.Writer) {
	w.String(queryDomain)
	w.String(q.ChainID)
	w.String(q.Requester)
	w.String(q.Kind)
	w.String(q.ID)
	w.PutBytes(q.Nonce[:])
	w.Varint(q.NotAfter)
}

// SignBytes is what the requester signs.
func (q *Query) SignBytes() []byte { return tx.RequestSignBytes(q.encodeUnsigned) }

// Encode is the wire form.
func (q *Query) Encode() []byte { return tx.RequestEncode(q.encodeUnsigned, q.Signature) }

// Hash identifies a query for replay detection.
func (q *Query) Hash() [32]byte { return tx.RequestHash(q.encodeUnsigned, q.Signature) }

// Sign fills in the signature.
func (q *Query) Sign(key ed25519.PrivateKey) { q.Signature = tx.RequestSign(key, q.encodeUnsigned) }

// DecodeQuery parses the wire form, accepting exactly one encoding.
func DecodeQuery(b []byte) (*Query, error) {
	r := tx.NewReader(b)
	if err := r.RequestHead(queryDomain, "a claims query"); err != nil {
		return nil, err
	}
	q := &Query{ChainID: r.String("chain id", tx.MaxChainID), Requester: r.String("requester", 64),
		Kind: r.String("kind", 16), ID: r.String("id", maxQueryIDSize)}
	var err error
	if q.NotAfter, q.Signature, err = r.RequestTail(&q.Nonce); err != nil {
		return nil, err
	}
	return q, nil
}

// Authenticate checks the query was signed for chainID by who (nil: not registered), an
// active identity, and is valid at now for at most MaxQueryAge.
func (q *Query) Authenticate(chainID string, who *identity.Identity, now time.Time) *tx.Error {
	if e := tx.AuthenticateRequest(chainID, "query", q.signed(), who.Signer()); e != nil {
		return e
	}
	if !tx.RequestInWindow(q.NotAfter, now, MaxQueryAge) {
		return Space.Err(CodeInvalid, "the query must expire within %s from now; sign a new one", MaxQueryAge)
	}
	return nil
}

func (q *Query) signed() tx.SignedRequest {
	return tx.SignedRequest{ChainID: q.ChainID, Requester: q.Requester, SignBytes: q.SignBytes(), Signature: q.Signature}
}

// View is the committed state a query reads.
type View interface {
	Reader
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Answer is what a query returns.
type Answer struct {
	Height    int64        `json:"height"`
	Claims    []*Claim     `json:"claims,omitempty"`
	Auths     []*PriorAuth `json:"prior_auths,omitempty"`
	Coverages []Coverage   `json:"coverages,omitempty"`
}

// Respond answers an authenticated query, deny by default: only a party to a claim or
// prior authorization sees it.
func Respond(v View, who *identity.Identity, q *Query) (*Answer, *tx.Error) {
	a := &Answer{}
	party := func(ids ...string) bool {
		for _, id := range ids {
			if id == who.ID {
				return true
			}
		}
		return false
	}
	switch q.Kind {
	case QueryClaim:
		c := GetClaim(v, q.ID)
		if c == nil || !party(c.Provider, c.Patient, c.Insurer) {
			return nil, Space.Err(CodeNotFound, "no claim %s that you are a party to", q.ID)
		}
		a.Claims = []*Claim{c}
	case QueryAuth:
		pa := GetAuth(v, q.ID)
		if pa == nil || !party(pa.Provider, pa.Patient, pa.Insurer) {
			return nil, Space.Err(CodeNotFound, "no prior authorization %s that you are a party to", q.ID)
		}
		a.Auths = []*PriorAuth{pa}
	case QueryList:
		seen := map[string]bool{}
		for _, p := range ClaimPrefixes(who.ID) {
			v.Iterate(p, func(k, _ []byte) bool {
				id := string(k[len(p):])
				if seen[id] {
					return true
				}
				seen[id] = true
				if strings.HasPrefix(id, "pa-") {
					a.Auths = append(a.Auths, GetAuth(v, id))
				} else if c := GetClaim(v, id); c != nil {
					a.Claims = append(a.Claims, c)
				}
				return true
			})
		}
		// Oldest first, as submitted.
		slices.SortFunc(a.Claims, func(x, y *Claim) int { return cmp.Or(cmp.Compare(x.Height, y.Height), cmp.Compare(x.ID, y.ID)) })
		slices.SortFunc(a.Auths, func(x, y *PriorAuth) int {
			return cmp.Or(cmp.Compare(x.Requested, y.Requested), cmp.Compare(x.ID, y.ID))
		})
	case QueryCoverage:
		switch {
		case who.ID == q.ID && who.Role == identity.Patient:
			p := CoveragePrefix(q.ID)
			v.Iterate(p, func(_, val []byte) bool {
				var cs []Coverage
				if err := jsonUnmarshal(val, &cs); err != nil {
					panic(err)
				}
				a.Coverages = append(a.Coverages, cs...)
				return true
			})
		case who.Role == identity.Insurer:
			a.Coverages = Coverages(v, q.ID, who.ID)
		default:
			return nil, Space.Err(CodeUnauthorized, "only the patient, or an insurer for its own members, sees a patient's coverage")
		}
	default:
		return nil, Space.Err(CodeInvalid, "unknown query kind %q (want claim, priorauth, list or coverage)", q.Kind)
	}
	return a, nil
}
