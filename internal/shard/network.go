package shard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Network is a network description: the file every participant loads to know the chains.
type Network struct {
	Name       string      `json:"network"`
	Shards     []Chain     `json:"shards"`
	Sidechains []Sidechain `json:"sidechains,omitempty"`
	Relayers   []Relayer   `json:"relayers,omitempty"`
}

// Chain is one chain of the network: its stable name (what the directory function hashes,
// so renaming a shard moves its patients), its CometBFT chain id and its nodes' API URLs.
type Chain struct {
	Name    string   `json:"name"`
	ChainID string   `json:"chain_id"`
	API     []string `json:"api"`
}

// Sidechain is a chain that runs one application for the whole network instead of holding
// patients.
type Sidechain struct {
	Chain
	Kind string `json:"kind"`
}

// Kinds of sidechain.
const Supply = "supply"

// Kinds lists the sidechain kinds a description may name.
var Kinds = []string{Supply}

// Relayer says that chain On keeps light client Client of chain Follows, and that a relayer
// keeps it updated with Follows' headers.
type Relayer struct {
	On      string `json:"on"`
	Client  string `json:"client"`
	Follows string `json:"follows"`
}

// ErrInvalid is wrapped by every description error.
var ErrInvalid = errors.New("invalid network description")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Load reads and validates a network description file.
func Load(path string) (*Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("network description: %w", err)
	}
	n, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// Parse decodes and validates a description. Unknown fields are refused, so a misspelt
// field is an error rather than a silently missing chain.
func Parse(b []byte) (*Network, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var n Network
	if err := dec.Decode(&n); err != nil {
		return nil, invalid("%v", err)
	}
	if dec.More() {
		return nil, invalid("trailing data after the description")
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return &n, nil
}

// Save writes the description as indented JSON.
func (n *Network) Save(path string) error {
	if err := n.Validate(); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(n, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// MaxShards bounds a description; the directory function is linear in it.
const MaxShards = 256

// Validate checks the description: a network name, at least one shard, names and chain ids
// unique across all chains, API URLs that parse, known sidechain kinds, and relayers
// between two distinct known chains.
func (n *Network) Validate() error {
	if strings.TrimSpace(n.Name) == "" {
		return invalid("no network name (field \"network\")")
	}
	if len(n.Shards) == 0 {
		return invalid("no shards: a network holds its patients on at least one")
	}
	if len(n.Shards) > MaxShards {
		return invalid("%d shards: at most %d", len(n.Shards), MaxShards)
	}
	names, ids := map[string]string{}, map[string]string{}
	check := func(where string, c Chain) error {
		if !ValidName(c.Name) {
			return invalid("%s: name %q: want 1 to 32 of a-z, 0-9 and -, starting with a letter or digit", where, c.Name)
		}
		if prev, ok := names[c.Name]; ok {
			return invalid("%s: name %q is already %s", where, c.Name, prev)
		}
		names[c.Name] = where
		if strings.TrimSpace(c.ChainID) == "" || strings.ContainsAny(c.ChainID, " \t\n") {
			return invalid("%s (%s): chain id %q is empty or holds spaces", where, c.Name, c.ChainID)
		}
		if prev, ok := ids[c.ChainID]; ok {
			return invalid("%s (%s): chain id %q is already %s's", where, c.Name, c.ChainID, prev)
		}
		ids[c.ChainID] = c.Name
		if len(c.API) == 0 {
			return invalid("%s (%s): no API URL: list at least one node", where, c.Name)
		}
		for _, a := range c.API {
			u, err := url.Parse(a)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return invalid("%s (%s): API URL %q: want http://host:port or https://host:port", where, c.Name, a)
			}
		}
		return nil
	}
	for i, s := range n.Shards {
		if err := check(fmt.Sprintf("shards[%d]", i), s); err != nil {
			return err
		}
	}
	for i, s := range n.Sidechains {
		where := fmt.Sprintf("sidechains[%d]", i)
		if err := check(where, s.Chain); err != nil {
			return err
		}
		if !knownKind(s.Kind) {
			return invalid("%s (%s): kind %q: want one of %s", where, s.Name, s.Kind, strings.Join(Kinds, ", "))
		}
	}
	seen := map[[2]string]bool{}
	for i, r := range n.Relayers {
		where := fmt.Sprintf("relayers[%d]", i)
		if _, ok := names[r.On]; !ok {
			return invalid("%s: on %q is no chain of the network", where, r.On)
		}
		if _, ok := names[r.Follows]; !ok {
			return invalid("%s: follows %q is no chain of the network", where, r.Follows)
		}
		if r.On == r.Follows {
			return invalid("%s: chain %q cannot follow itself", where, r.On)
		}
		if strings.TrimSpace(r.Client) == "" {
			return invalid("%s: no client id", where)
		}
		if k := [2]string{r.On, r.Client}; seen[k] {
			return invalid("%s: chain %q has client %q twice", where, r.On, r.Client)
		} else {
			seen[k] = true
		}
	}
	return nil
}

func knownKind(k string) bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// ValidName reports whether s can name a chain: 1 to 32 of a-z, 0-9 and '-', not starting
// with '-'. Names go into directory names and the directory function, so they are kept
// plain.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Chain returns the chain named name, shard or sidechain.
func (n *Network) Chain(name string) (Chain, bool) {
	for _, s := range n.Shards {
		if s.Name == name {
			return s, true
		}
	}
	for _, s := range n.Sidechains {
		if s.Name == name {
			return s.Chain, true
		}
	}
	return Chain{}, false
}

// Sidechain returns the first sidechain of a kind.
func (n *Network) Sidechain(kind string) (Sidechain, bool) {
	for _, s := range n.Sidechains {
		if s.Kind == kind {
			return s, true
		}
	}
	return Sidechain{}, false
}

// ShardNames lists the shards' names in the description's order.
func (n *Network) ShardNames() []string {
	out := make([]string, len(n.Shards))
	for i, s := range n.Shards {
		out[i] = s.Name
	}
	return out
}
