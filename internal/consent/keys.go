package consent

import (
	"encoding/json"
	"regexp"

	"github.com/ehrchain/ehrchain/internal/decodecache"
)

// categoryRe bounds category names: short lowercase labels such as "general" or
// "mental-health".
var categoryRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,47}$`)

// ValidCategory reports whether c is an acceptable category name.
func ValidCategory(c string) bool { return categoryRe.MatchString(c) }

// DefaultCategories are the sensitivity categories a patient's client publishes keys for at
// registration; anything not sensitive is "general".
var DefaultCategories = []string{"general", "mental-health", "hiv", "substance-use", "genetic", "reproductive"}

func catKey(patient, category string) []byte { return []byte("catkey/" + patient + "/" + category) }
func catListKey(patient string) []byte       { return []byte("catkeys/" + patient) }

// CurrentKey is the patient's current public key for a category, or nil. The caller must
// not modify it.
func CurrentKey(r Reader, patient, category string) *CategoryKey {
	b := r.Get(catKey(patient, category))
	if b == nil {
		return nil
	}
	k, err := decodecache.Decode(r, categoryKeys, b)
	if err != nil {
		panic(err)
	}
	return k
}

// categoryKeys is the kind of cached category keys, kept in the cache the reader carries:
// every record write checks the current one.
var categoryKeys = decodecache.NewKind(100_000, func(b []byte) (*CategoryKey, error) {
	var k CategoryKey
	return &k, json.Unmarshal(b, &k)
})

// Categories lists the categories the patient has keys for, in publication order.
func Categories(r Reader, patient string) []string {
	var cats []string
	if b := r.Get(catListKey(patient)); b != nil {
		if err := json.Unmarshal(b, &cats); err != nil {
			panic(err)
		}
	}
	return cats
}

func putKey(st Store, patient string, k CategoryKey) {
	if CurrentKey(st, patient, k.Category) == nil {
		cats := append(Categories(st, patient), k.Category)
		b, _ := json.Marshal(cats)
		st.Set(catListKey(patient), b)
	}
	b, _ := json.Marshal(k)
	st.Set(catKey(patient, k.Category), b)
}
