package shard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleJSON = `{
  "network": "test",
  "shards": [
    {"name": "ehr-a", "chain_id": "ehrchain-ehr-a", "api": ["http://127.0.0.1:33000", "http://127.0.0.1:33010"]},
    {"name": "ehr-b", "chain_id": "ehrchain-ehr-b", "api": ["https://b.example:8443"]}
  ],
  "sidechains": [
    {"name": "supply", "kind": "supply", "chain_id": "ehrchain-supply", "api": ["http://127.0.0.1:33200"]}
  ],
  "relayers": [
    {"on": "ehr-a", "client": "supply", "follows": "supply"},
    {"on": "ehr-a", "client": "ehr-b", "follows": "ehr-b"}
  ]
}`

func sample() *Network {
	n, err := Parse([]byte(sampleJSON))
	if err != nil {
		panic(err)
	}
	return n
}

func TestParseSample(t *testing.T) {
	n := sample()
	if n.Name != "test" || len(n.Shards) != 2 || len(n.Sidechains) != 1 || len(n.Relayers) != 2 {
		t.Fatalf("%+v", n)
	}
	if s, ok := n.Sidechain(Supply); !ok || s.ChainID != "ehrchain-supply" {
		t.Fatalf("supply sidechain: %+v %v", s, ok)
	}
	if c, ok := n.Chain("ehr-b"); !ok || c.API[0] != "https://b.example:8443" {
		t.Fatalf("chain ehr-b: %+v %v", c, ok)
	}
	if _, ok := n.Chain("ehr-z"); ok {
		t.Fatal("found a chain that is not there")
	}
}

// TestParseRefuses: every check of the description, tried with a file that breaks it; the
// error names what is wrong.
func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		name, from, to, want string
	}{
		{"not JSON", `{`, `[`, "invalid character"},
		{"unknown field", `"network": "test",`, `"network": "test", "shard": [],`, `unknown field "shard"`},
		{"no network name", `"network": "test"`, `"network": " "`, "no network name"},
		{"no shards", `"shards": [`, `"shards": [], "x": [`, "unknown field"},
		{"bad shard name", `"name": "ehr-a"`, `"name": "EHR A"`, `name "EHR A"`},
		{"name starts with dash", `"name": "ehr-a"`, `"name": "-a"`, `name "-a"`},
		{"duplicate name", `"name": "ehr-b"`, `"name": "ehr-a"`, `name "ehr-a" is already shards[0]`},
		{"sidechain reuses a shard's name", `"name": "supply"`, `"name": "ehr-b"`, `is already shards[1]`},
		{"duplicate chain id", `"chain_id": "ehrchain-ehr-b"`, `"chain_id": "ehrchain-ehr-a"`, `chain id "ehrchain-ehr-a" is already ehr-a's`},
		{"empty chain id", `"chain_id": "ehrchain-ehr-b"`, `"chain_id": ""`, "chain id"},
		{"no API", `"api": ["https://b.example:8443"]`, `"api": []`, "no API URL"},
		{"API without scheme", `"https://b.example:8443"`, `"b.example:8443"`, `API URL "b.example:8443"`},
		{"API of another scheme", `"https://b.example:8443"`, `"tcp://b.example:8443"`, `API URL "tcp://b.example:8443"`},
		{"unknown sidechain kind", `"kind": "supply"`, `"kind": "trials"`, `kind "trials"`},
		{"relayer on an unknown chain", `"on": "ehr-a", "client": "supply"`, `"on": "ehr-z", "client": "supply"`, `on "ehr-z" is no chain`},
		{"relayer follows an unknown chain", `"follows": "ehr-b"`, `"follows": "ehr-z"`, `follows "ehr-z" is no chain`},
		{"chain follows itself", `"follows": "ehr-b"`, `"follows": "ehr-a"`, "cannot follow itself"},
		{"relayer without client", `"client": "ehr-b"`, `"client": ""`, "no client id"},
		{"one client id twice", `"client": "ehr-b"`, `"client": "supply"`, `client "supply" twice`},
		{"trailing data", "\n}", "\n} {}", "trailing data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(sampleJSON, c.from) {
				t.Fatalf("sample does not hold %q", c.from)
			}
			b := strings.Replace(sampleJSON, c.from, c.to, 1)
			if c.name == "no shards" {
				b = `{"network": "test", "shards": []}`
				c.want = "no shards"
			}
			_, err := Parse([]byte(b))
			if err == nil {
				t.Fatalf("accepted:\n%s", b)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "network.json")
	if err := sample().Save(p); err != nil {
		t.Fatal(err)
	}
	n, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Shards) != 2 || n.Shards[1].API[0] != "https://b.example:8443" || n.Relayers[1].Follows != "ehr-b" {
		t.Fatalf("round trip: %+v", n)
	}
	bad := sample()
	bad.Shards[1].Name = bad.Shards[0].Name
	if err := bad.Save(p + ".bad"); err == nil {
		t.Fatal("saved an invalid description")
	}
	if _, err := os.Stat(p + ".bad"); err == nil {
		t.Fatal("an invalid description reached the disk")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "network description") {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(p, []byte(`{"network": "x"}`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("invalid file: %v, want the path in the error", err)
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{"ehr-a": true, "a": true, "0": true, "supply": true,
		"": false, "-a": false, "A": false, "ehr_a": false, "ehr a": false, "ehr/a": false,
		strings.Repeat("a", 32): true, strings.Repeat("a", 33): false} {
		if ValidName(s) != want {
			t.Errorf("ValidName(%q) = %v", s, !want)
		}
	}
}
