package supply

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state the supply handlers write.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Append(leaf []byte) uint64
}

// Partner is what the registrar bound to a trading partner identity.
type Partner struct {
	ID       string   `json:"id"`
	Prefixes []string `json:"prefixes,omitempty"` // sorted
	GLNs     []string `json:"glns,omitempty"`     // sorted
	BoundAt  int64    `json:"bound_at"`           // height of the latest binding
}

// PartnerKey is the state key of a partner's bindings.
func PartnerKey(id string) []byte { return []byte("supply/partner/" + id) }

// prefixKey names the owner of a company prefix; coverKey marks each shorter run of digits
// that begins a bound prefix, so a new prefix that would contain one is found without a scan.
func prefixKey(p string) []byte { return []byte("supply/gcp/" + p) }
func coverKey(p string) []byte  { return []byte("supply/gcpx/" + p) }
func glnKey(g string) []byte    { return []byte("supply/gln/" + g) }

// GetPartner loads a partner's bindings, or nil.
func GetPartner(r identity.Reader, id string) *Partner {
	return tx.LoadJSON[Partner](r, PartnerKey(id), "supply")
}

// PrefixOwner is the partner a company prefix is bound to, or "".
func PrefixOwner(r identity.Reader, prefix string) string { return string(r.Get(prefixKey(prefix))) }

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}

// ExecBind applies a binding. GS1 company prefixes are allocated so that none begins
// another; a prefix that would overlap one bound to any partner is refused, because it
// would let two companies commission the same GTINs.
func ExecBind(st Store, env identity.Env, signer string, b *BindBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Registrar {
		return Space.Err(CodeUnauthorized, "only the registrar binds company prefixes and locations to trading partners")
	}
	target := identity.Get(st, b.Partner)
	switch {
	case target == nil:
		return Space.Err(CodeNotFound, "identity %s is not registered", b.Partner)
	case !identity.TradingPartner(target.Role) || target.Role == identity.Regulator:
		return Space.Err(CodeNotPartner, "%s is a %s; only a manufacturer, repackager, wholesaler or dispenser owns company prefixes and locations", b.Partner, target.Role)
	case !target.Active:
		return Space.Err(CodeNotPartner, "%s was deactivated at height %d", b.Partner, target.Deactivated)
	case len(b.Prefixes) == 0 && len(b.GLNs) == 0:
		return Space.Err(CodeInvalid, "a binding names at least one company prefix or GLN")
	}
	p := GetPartner(st, b.Partner)
	if p == nil {
		p = &Partner{ID: b.Partner}
	}
	for _, pre := range b.Prefixes {
		if err := checkPrefix(pre); err != nil {
			return Space.Err(CodeInvalid, "%v", err)
		}
		if owner := PrefixOwner(st, pre); owner != "" {
			if owner == b.Partner {
				continue
			}
			return Space.Err(CodePrefixTaken, "company prefix %s is bound to %s", pre, owner)
		}
		for k := 4; k < len(pre); k++ {
			if owner := PrefixOwner(st, pre[:k]); owner != "" {
				return Space.Err(CodePrefixTaken, "company prefix %s lies under %s, bound to %s", pre, pre[:k], owner)
			}
		}
		if st.Get(coverKey(pre)) != nil {
			return Space.Err(CodePrefixTaken, "company prefix %s would contain a longer prefix already bound to a partner", pre)
		}
		st.Set(prefixKey(pre), []byte(b.Partner))
		for k := 4; k < len(pre); k++ {
			st.Set(coverKey(pre[:k]), []byte{1})
		}
		p.Prefixes = append(p.Prefixes, pre)
	}
	for _, g := range b.GLNs {
		if err := checkGLN(g); err != nil {
			return Space.Err(CodeInvalid, "%v", err)
		}
		switch owner := string(st.Get(glnKey(g))); owner {
		case b.Partner:
			continue
		case "":
		default:
			return Space.Err(CodeGLNTaken, "GLN %s is bound to %s", g, owner)
		}
		st.Set(glnKey(g), []byte(b.Partner))
		p.GLNs = append(p.GLNs, g)
	}
	slices.Sort(p.Prefixes)
	slices.Sort(p.GLNs)
	p.BoundAt = env.Height
	st.Set(PartnerKey(p.ID), encode(p))
	// The event names the partner's organization, not the registrar's.
	ev := env.SignerEvent(signer, audit.PartnerBind)
	ev.Subject, ev.Organization = b.Partner, target.Organization
	ev.Reason = "prefixes " + strings.Join(b.Prefixes, ",") + "; GLNs " + strings.Join(b.GLNs, ",")
	st.Append(ev.Encode())
	return nil
}
