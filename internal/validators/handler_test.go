package validators

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/state/statetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// world is a chain with a registrar and a provider, for the validator handlers.
type world struct {
	*statetest.Chain
	reg, dr string
}

func newWorld(t *testing.T) *world {
	c := statetest.New(t, time.Unix(1_700_000_000, 0).UTC())
	return &world{Chain: c, reg: c.Identity(identity.Registrar, "", ""), dr: c.Identity(identity.Provider, "St Mary", "")}
}

func set(b Set) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecSet(s, e, e.Signer.ID, &b) }
}

func remove(b Remove) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecRemove(s, e, e.Signer.ID, &b) }
}

// expect runs f as signer and wants validator/code (0: success).
func (w *world) expect(what string, code uint32, signer string, f statetest.Handler) {
	w.T.Helper()
	w.Expect(what, Space, code, signer, f)
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.PublicKeySize) }

// TestValidatorSetRules: the registrar alone changes the set; powers and keys are bounded;
// the set never becomes empty; an update that changes nothing is refused.
func TestValidatorSetRules(t *testing.T) {
	w := newWorld(t)
	ov := w.Store.Begin()
	PutGenesis(ov, &Validator{Address: Address(key(1)), PubKey: key(1), Power: 10, Institution: "St Mary"})
	ov.Flush()
	genesis := Address(key(1))
	for _, c := range []struct {
		name   string
		signer string
		f      statetest.Handler
		code   uint32
	}{
		{"a provider adding a validator", w.dr, set(Set{PubKey: key(2), Power: 1, Institution: "City"}), CodeUnauthorized},
		{"a provider removing one", w.dr, remove(Remove{Address: genesis}), CodeUnauthorized},
		{"a consensus key of the wrong size", w.reg, set(Set{PubKey: key(2)[:31], Power: 1, Institution: "City"}), CodeInvalid},
		{"power 0 (that is a removal)", w.reg, set(Set{PubKey: key(2), Power: 0, Institution: "City"}), CodeInvalid},
		{"negative power", w.reg, set(Set{PubKey: key(2), Power: -5, Institution: "City"}), CodeInvalid},
		{"power over the cap", w.reg, set(Set{PubKey: key(2), Power: MaxPower + 1, Institution: "City"}), CodeInvalid},
		{"no institution", w.reg, set(Set{PubKey: key(2), Power: 1}), CodeInvalid},
		{"an institution with a control character", w.reg, set(Set{PubKey: key(2), Power: 1, Institution: "City\x00"}), CodeInvalid},
		{"the same power and institution again", w.reg, set(Set{PubKey: key(1), Power: 10, Institution: "St Mary"}), CodeUnchanged},
		{"removing the last validator", w.reg, remove(Remove{Address: genesis}), CodeLastOne},
		{"removing an unknown address", w.reg, remove(Remove{Address: Address(key(9))}), CodeNotFound},
		{"an address in lower case", w.reg, remove(Remove{Address: strings.ToLower(genesis)}), CodeInvalid},
		{"adding a second validator", w.reg, set(Set{PubKey: key(2), Power: 5, Institution: "City"}), 0},
		{"changing its power", w.reg, set(Set{PubKey: key(2), Power: 7, Institution: "City"}), 0},
		{"removing the genesis validator, now not the last", w.reg, remove(Remove{Address: genesis, Reason: "decommissioned"}), 0},
		{"removing it twice", w.reg, remove(Remove{Address: genesis}), CodeNotFound},
		{"removing the last one left", w.reg, remove(Remove{Address: Address(key(2))}), CodeLastOne},
		{"bringing a removed validator back", w.reg, set(Set{PubKey: key(1), Power: 3, Institution: "St Mary"}), 0},
	} {
		w.expect(c.name, c.code, c.signer, c.f)
	}
	if Active(w.Store) != 2 {
		t.Fatalf("%d active validators, want 2", Active(w.Store))
	}
	// A validator brought back is a new addition, by the registrar who sent it.
	v := Get(w.Store, genesis)
	if v.Power != 3 || v.RemovedAt != 0 || v.AddedBy != w.reg || v.AddedAt != w.Height {
		t.Fatalf("the validator brought back is %+v", v)
	}
	if Power(w.Store, Address(key(2))) != 7 || Power(w.Store, Address(key(9))) != 0 {
		t.Fatal("powers as stored are wrong")
	}
}

// TestValidatorSetLimit: the set holds at most MaxValidators.
func TestValidatorSetLimit(t *testing.T) {
	w := newWorld(t)
	for i := range MaxValidators {
		k := key(0)
		k[0], k[1] = byte(i), byte(i>>8)
		w.expect(fmt.Sprintf("validator %d", i+1), 0, w.reg, set(Set{PubKey: k, Power: 1, Institution: "I"}))
	}
	w.expect("one more than the limit", CodeTooMany, w.reg, set(Set{PubKey: key(0xff), Power: 1, Institution: "I"}))
}

// TestValidatorListAndEvents: the list shows active validators first, then removed ones,
// each by address; every change is an audit event of the registrar naming the validator.
func TestValidatorListAndEvents(t *testing.T) {
	w := newWorld(t)
	w.expect("add a", 0, w.reg, set(Set{PubKey: key(1), Power: 1, Institution: "A"}))
	w.expect("add b", 0, w.reg, set(Set{PubKey: key(2), Power: 1, Institution: "B"}))
	w.expect("add c", 0, w.reg, set(Set{PubKey: key(3), Power: 1, Institution: "C"}))
	w.expect("remove b", 0, w.reg, remove(Remove{Address: Address(key(2)), Reason: "left"}))
	v := w.Commit()
	var got []string
	for _, x := range List(v) {
		got = append(got, fmt.Sprintf("%s:%d", x.Institution, x.Power))
	}
	// Active ones ordered by address, then the removed one.
	a, c := Address(key(1)), Address(key(3))
	want := []string{"A:1", "C:1"}
	if c < a {
		want = []string{"C:1", "A:1"}
	}
	want = append(want, "B:0")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("list %v, want %v", got, want)
	}
	raw, err := v.Leaf(3)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := audit.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != ActionRemove || ev.Actor != w.reg || ev.ActorRole != string(identity.Registrar) ||
		ev.Subject != Address(key(2)) || ev.Organization != "B" || ev.Reason != "left" {
		t.Fatalf("removal event %+v", ev)
	}
}

// TestBodiesHaveOneEncoding: a body decodes to what was encoded, and trailing or missing
// bytes are refused.
func TestBodiesHaveOneEncoding(t *testing.T) {
	s := &Set{PubKey: key(4), Power: 12, Institution: "St Mary", Name: "node-1"}
	w := tx.NewWriter(64)
	s.Encode(w)
	got, err := DecodeSet(w.Bytes())
	if err != nil || !bytes.Equal(got.PubKey, s.PubKey) || got.Power != 12 || got.Institution != "St Mary" || got.Name != "node-1" {
		t.Fatalf("set round trip: %+v %v", got, err)
	}
	if _, err := DecodeSet(append(w.Bytes(), 0)); err == nil {
		t.Error("a set with a trailing byte decoded")
	}
	if _, err := DecodeSet(w.Bytes()[:len(w.Bytes())-1]); err == nil {
		t.Error("a truncated set decoded")
	}
	r := &Remove{Address: Address(key(4)), Reason: "r"}
	w = tx.NewWriter(64)
	r.Encode(w)
	if got, err := DecodeRemove(w.Bytes()); err != nil || *got != *r {
		t.Fatalf("remove round trip: %+v %v", got, err)
	}
	if _, err := DecodeRemove(append(w.Bytes(), 0)); err == nil {
		t.Error("a remove with a trailing byte decoded")
	}
}

// TestAddressIsCometBFTs: the first 20 bytes of SHA-256 of the key, upper-case hex.
func TestAddressIsCometBFTs(t *testing.T) {
	// SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925.
	if got := Address(make([]byte, 32)); got != "66687AADF862BD776C8FC18B8E9F8E2008971485" {
		t.Fatalf("Address = %s", got)
	}
}
