package consent

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/decodecache"
)

// Actions a grant can permit.
const (
	Read  = access.Read
	Write = access.Write
)

// Purposes of use (HL7 v3 PurposeOfUse codes in brackets).
const (
	Treatment  = access.Treatment  // TREAT
	Payment    = access.Payment    // HPAYMT
	Operations = access.Operations // HOPERAT
	Research   = access.Research   // HRESCH
	Emergency  = access.Emergency  // ETREAT
)

// Purposes lists the valid purposes of use.
var Purposes = []string{Treatment, Payment, Operations, Research, Emergency}

// Actions lists the valid actions.
var Actions = []string{Read, Write}

// Scope selects records (access.Scope): an empty list in a dimension means "any".
type Scope = access.Scope

// Target is what an access touches.
type Target = access.Target

// Deny is a deny provision inside a grant: it excludes part of what the grant permits.
type Deny = access.Deny

// KeyShare is a category private key wrapped (HPKE) for one grantee, so the grantee can
// decrypt the category's records. Nodes store it; they cannot open it.
type KeyShare struct {
	Category  string `json:"category"`
	Version   uint32 `json:"version"`
	Recipient string `json:"recipient"`
	Wrapped   []byte `json:"wrapped"`
}

// Grant is one consent: the patient permits a grantee (an identity or every provider of an
// organization) to perform actions on a scope of records for some purposes between Start
// and Expiry. It maps to a FHIR R4 Consent with one permit provision and nested deny
// provisions.
type Grant struct {
	ID           string     `json:"id"`
	Patient      string     `json:"patient"`
	Grantee      string     `json:"grantee,omitempty"`      // identity id
	Organization string     `json:"organization,omitempty"` // or every provider of this organization
	Scope        Scope      `json:"scope"`
	Actions      []string   `json:"actions"`
	Purposes     []string   `json:"purposes"`
	Start        time.Time  `json:"start"`
	Expiry       time.Time  `json:"expiry"` // zero: no expiry
	Deny         []Deny     `json:"deny,omitempty"`
	KeyShares    []KeyShare `json:"key_shares,omitempty"`
	GrantedAt    int64      `json:"granted_at"`
	RevokedAt    int64      `json:"revoked_at,omitempty"`
	RevokedTime  time.Time  `json:"revoked_time,omitzero"`
}

// Key is where a grant is stored.
func Key(patient, id string) []byte { return []byte("grant/" + patient + "/" + id) }

// listKey holds the ids of every grant a patient has issued, in order.
func listKey(patient string) []byte { return []byte("grants/" + patient) }

// Encode is the canonical state value.
func (g *Grant) Encode() []byte {
	g.Start, g.Expiry, g.RevokedTime = g.Start.UTC(), g.Expiry.UTC(), g.RevokedTime.UTC()
	b, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	return b
}

// Reader is the state consent needs.
type Reader interface{ Get(key []byte) []byte }

// Get loads a grant or nil. The caller owns the result.
func Get(r Reader, patient, id string) *Grant {
	b := r.Get(Key(patient, id))
	if b == nil {
		return nil
	}
	g, err := decodecache.Decode(r, grants, b)
	if err != nil {
		panic(fmt.Errorf("grant %s is corrupt: %w", id, err))
	}
	cp := *g // handlers modify what they load; slices are clipped, so appends copy
	return &cp
}

// grants and grantLists are the kinds of cached grant values, kept by their stored bytes in
// the cache the reader carries: every access decision reads all of a patient's grants.
var (
	grants = decodecache.NewKind(100_000, func(b []byte) (*Grant, error) {
		var g Grant
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, err
		}
		g.Actions, g.Purposes, g.Deny, g.KeyShares = slices.Clip(g.Actions), slices.Clip(g.Purposes), slices.Clip(g.Deny), slices.Clip(g.KeyShares)
		return &g, nil
	})
	grantLists = decodecache.NewKind(100_000, func(b []byte) (*[]string, error) {
		var ids []string
		return &ids, json.Unmarshal(b, &ids)
	})
)

// List loads every grant a patient issued, oldest first.
func List(r Reader, patient string) []*Grant {
	var ids []string
	if b := r.Get(listKey(patient)); b != nil {
		l, err := decodecache.Decode(r, grantLists, b)
		if err != nil {
			panic(err)
		}
		ids = *l
	}
	out := make([]*Grant, 0, len(ids))
	for _, id := range ids {
		if g := Get(r, patient, id); g != nil {
			out = append(out, g)
		}
	}
	return out
}

// Active reports whether the grant is in force at block time t.
func (g *Grant) Active(t time.Time) bool {
	return g.RevokedAt == 0 && !t.Before(g.Start) && (g.Expiry.IsZero() || t.Before(g.Expiry))
}

// Fact is what the access decision needs of the grant.
func (g *Grant) Fact() access.Grant {
	return access.Grant{ID: g.ID, Patient: g.Patient, Grantee: g.Grantee, Organization: g.Organization, Scope: g.Scope,
		Actions: g.Actions, Purposes: g.Purposes, Start: g.Start, Expiry: g.Expiry, Deny: g.Deny, RevokedAt: g.RevokedAt}
}

// Facts is Fact of each grant, in order.
func Facts(gs []*Grant) []access.Grant {
	out := make([]access.Grant, len(gs))
	for i, g := range gs {
		out[i] = g.Fact()
	}
	return out
}
