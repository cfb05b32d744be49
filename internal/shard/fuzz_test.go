package shard

import (
	"encoding/json"
	"testing"
)

// FuzzParse: no description makes Parse panic, and one it accepts is valid through and
// through: it survives a re-encode and gives every patient a home among its shards.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleJSON))
	f.Add([]byte(`{"network": "n", "shards": [{"name": "a", "chain_id": "c", "api": ["http://h:1"]}]}`))
	f.Add([]byte(`{"network": "n", "shards": [], "relayers": [{"on": "a"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Parse(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("accepted, but its re-encoding is refused: %v\n%s", err, again)
		}
		home, err := n.Home(id(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := n.Chain(home.Name); !ok {
			t.Fatalf("home %q is no chain of the network", home.Name)
		}
	})
}
