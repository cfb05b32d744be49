package tx

import (
	"encoding/json"
	"fmt"
)

// Getter reads one state value.
type Getter interface{ Get(key []byte) []byte }

// LoadJSON decodes the JSON state value at key, or returns nil if the key is absent. A value
// that does not decode is a corrupt state, which no transaction can mend: it panics, naming
// the domain and the key.
func LoadJSON[T any](r Getter, key []byte, domain string) *T {
	b := r.Get(key)
	if b == nil {
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		panic(fmt.Errorf("%s state %s is corrupt: %w", domain, key, err))
	}
	return &v
}
