package supply

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ActionRelease is the audit action of a release from quarantine.
const ActionRelease = audit.EPCISRelease

// Release limits.
const (
	MaxReleaseItems  = 1000
	MaxReleaseReason = 1000 // bytes
)

// Release is a regulator's release of quarantined items: DSCSA's clearance after an
// investigation found the product not illegitimate. It clears the quarantine only: an
// item that was destroyed, dispensed or recalled still cannot move, and the suspect
// events that named the items stay on the ledger.
type Release struct {
	Seq      uint64   `json:"seq"`
	Items    []string `json:"items"` // canonical identifiers
	Reason   string   `json:"reason"`
	By       string   `json:"by"`
	Suspects []uint64 `json:"suspects,omitempty"` // the suspect events that had named the items
	Height   int64    `json:"height"`
	Tx       string   `json:"tx"`
}

// ReleaseKey is the state key of release seq; releaseCountKey holds how many exist.
func ReleaseKey(seq uint64) []byte { return fmt.Appendf(nil, "supply/release/%020d", seq) }

var releaseCountKey = []byte("supply/releasen")

// ReleaseCount is the number of releases on the ledger (seq 1..n).
func ReleaseCount(r identity.Reader) uint64 {
	var n uint64
	if b := r.Get(releaseCountKey); b != nil {
		fmt.Sscan(string(b), &n)
	}
	return n
}

// GetRelease loads release seq, or nil.
func GetRelease(r identity.Reader, seq uint64) *Release {
	return tx.LoadJSON[Release](r, ReleaseKey(seq), "supply")
}

// MayRelease says whether a signer releases quarantined product: an active regulator.
// Not the registrar, which vouches for identities, not for goods; not a trading partner,
// which is a party to what made the product suspect.
func MayRelease(who *identity.Identity) bool {
	return who != nil && who.Active && who.Role == identity.Regulator
}

// ExecRelease applies a release: every item named must be on the ledger and
// quarantined, or nothing is released.
func ExecRelease(st Store, env identity.Env, signer string, b *ReleaseBody) *tx.Error {
	if !MayRelease(env.Signer) {
		return Space.Err(CodeUnauthorized, "only a regulator releases quarantined product")
	}
	reason := strings.TrimSpace(b.Reason)
	switch {
	case reason == "":
		return Space.Err(CodeInvalid, "a release states its reason (what the investigation found)")
	case len(reason) > MaxReleaseReason:
		return Space.Err(CodeInvalid, "the reason is %d bytes, more than %d", len(reason), MaxReleaseReason)
	case len(b.Items) == 0:
		return Space.Err(CodeInvalid, "a release names at least one item")
	case len(b.Items) > MaxReleaseItems:
		return Space.Err(CodeInvalid, "a release names %d items, more than %d", len(b.Items), MaxReleaseItems)
	}
	n := ReleaseCount(st) + 1
	rel := &Release{Seq: n, Reason: reason, By: signer, Height: env.Height, Tx: env.TxHash}
	var items []*Item
	for _, id := range b.Items {
		canon := CanonicalID(strings.TrimSpace(id))
		if canon == "" {
			return Space.Err(CodeInvalid, "an item identifier is empty")
		}
		if slices.Contains(rel.Items, canon) {
			return Space.Err(CodeInvalid, "%s is named twice", id)
		}
		it := getItem(st, canon)
		switch {
		case it == nil:
			return Space.Err(CodeNotFound, "no item %s on the ledger", id)
		case !it.Quarantined:
			return Space.Err(CodeNotQuarantined, "%s is not quarantined (it is %s)", id, it.Status)
		}
		rel.Items = append(rel.Items, canon)
		for _, s := range it.Suspects {
			if !slices.Contains(rel.Suspects, s) {
				rel.Suspects = append(rel.Suspects, s)
			}
		}
		items = append(items, it)
	}
	slices.Sort(rel.Suspects)
	for _, it := range items {
		it.Quarantined = false
		it.Releases = append(it.Releases, n)
		st.Set(ItemKey(it.ID), encode(it))
		st.Set(PublicKey(it.ID), encode(PublicOf(it)))
	}
	st.Set(ReleaseKey(n), encode(rel))
	st.Set(releaseCountKey, fmt.Append(nil, n))
	ev := env.SignerEvent(signer, ActionRelease)
	ev.Reason = fmt.Sprintf("%d items released: %s", len(rel.Items), reason)
	st.Append(ev.Encode())
	return nil
}

// MaxReleaseScan bounds the releases one listing page reads.
const MaxReleaseScan = 2000

// ReleasesFor lists the releases after seq that who may read, at most limit: a regulator
// every one, a trading partner those naming an item in its custody (it owned it or was
// named its receiver), anyone else none. It reads at most MaxReleaseScan releases; next
// is the seq to go on after when more may follow (0: none).
func ReleasesFor(r identity.Reader, who *identity.Identity, after uint64, limit int) (list []*Release, next uint64) {
	if who == nil || !who.Active || !identity.TradingPartner(who.Role) {
		return nil, 0
	}
	n := ReleaseCount(r)
	seq := after
	for scanned := 0; seq < n && len(list) < limit && scanned < MaxReleaseScan; scanned++ {
		seq++
		if rel := GetRelease(r, seq); rel != nil && (who.Role == identity.Regulator || rel.involves(r, who.ID)) {
			list = append(list, rel)
		}
	}
	if seq < n {
		return list, seq
	}
	return list, 0
}

func (rel *Release) involves(r identity.Reader, partner string) bool {
	for _, id := range rel.Items {
		if it := getItem(r, id); it != nil && it.InCustody(partner) {
			return true
		}
	}
	return false
}
