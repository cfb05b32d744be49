package consent

import (
	"encoding/binary"
	"encoding/json"
)

// EraseStore is the state a category erasure changes.
type EraseStore interface {
	Store
	Delete(key []byte)
}

// catGoneKey remembers the last version of a category key dropped by an erasure, so a key
// published for the category afterwards takes the next version number: a grantee's cache
// never sees two different keys under one version.
func catGoneKey(patient, category string) []byte {
	return []byte("catgone/" + patient + "/" + category)
}

// droppedVersion is the last version of the category's key an erasure dropped, 0 if none.
func droppedVersion(r Reader, patient, category string) uint32 {
	b := r.Get(catGoneKey(patient, category))
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// DropCategory removes a patient's category key from the ledger: the published public key
// (every version: only the current one is stored) and every grant's key shares for the
// category, at any version. It returns the version dropped (0 if there was no key) and how
// many shares went. The grants themselves stay: they still decide access, but carry no key.
func DropCategory(st EraseStore, patient, category string) (version uint32, shares int) {
	if k := CurrentKey(st, patient, category); k != nil {
		version = k.Version
		st.Delete(catKey(patient, category))
		st.Set(catGoneKey(patient, category), binary.BigEndian.AppendUint32(nil, version))
		var cats []string
		for _, c := range Categories(st, patient) {
			if c != category {
				cats = append(cats, c)
			}
		}
		if len(cats) == 0 {
			st.Delete(catListKey(patient))
		} else {
			b, _ := json.Marshal(cats)
			st.Set(catListKey(patient), b)
		}
	}
	for _, g := range List(st, patient) {
		var keep []KeyShare // a new slice: g's shares are shared with the decode cache
		for _, s := range g.KeyShares {
			if s.Category != category {
				keep = append(keep, s)
			}
		}
		if n := len(g.KeyShares) - len(keep); n > 0 {
			shares += n
			g.KeyShares = keep
			st.Set(Key(patient, g.ID), g.Encode())
		}
	}
	return version, shares
}
