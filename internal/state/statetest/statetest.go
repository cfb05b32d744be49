// Package statetest runs domain handlers in tests over a real state store, one overlay per
// transaction as the App does, so a package's unit tests reach every rejection quickly
// without a node. The store carries a decode cache of its own, as an App's does.
package statetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/decodecache"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Handler is one transaction's work: a domain handler over the transaction's overlay.
type Handler = func(st *state.Tx, env identity.Env) *tx.Error

// Chain is a store and the block context of the transactions run on it.
type Chain struct {
	T      testing.TB
	Store  *state.Store
	Dir    string    // the store's directory
	Height int64     // of the last transaction run
	Time   time.Time // block time of the next transaction
	Step   time.Duration
	Keys   map[string]*keys.KeyPair // of each identity made by Identity
}

// New opens a store in a temporary directory; transactions run at start, then Step (one
// second) apart.
func New(t testing.TB, start time.Time) *Chain {
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.UseDecodeCache(decodecache.NewSet())
	return &Chain{T: t, Store: st, Dir: dir, Time: start, Step: time.Second, Keys: map[string]*keys.KeyPair{}}
}

// Identity stores an active identity with fresh keys (as genesis would) and returns its id.
func (c *Chain) Identity(role identity.Role, org, registeredBy string) string {
	kp, err := keys.Generate()
	if err != nil {
		c.T.Fatal(err)
	}
	id := &identity.Identity{ID: keys.IDFromSignKey(kp.SignPublic()), Role: role, Organization: org, RegisteredBy: registeredBy,
		SignKey: kp.SignPublic(), EncKey: kp.EncPublic(), KeyVersion: 1, Active: true}
	ov := c.Store.Begin()
	identity.Put(ov, id)
	ov.Flush()
	c.Keys[id.ID] = kp
	return id.ID
}

// Run executes f as signer (its identity as stored now; nil if unknown) in a new block
// context with a random transaction hash, and flushes its writes only if f succeeds.
func (c *Chain) Run(signer string, f Handler) *tx.Error {
	c.Height++
	var h [32]byte
	rand.Read(h[:])
	env := identity.Env{ChainID: "c", Height: c.Height, Time: c.Time, TxHash: hex.EncodeToString(h[:]), Signer: identity.Get(c.Store, signer)}
	c.Time = c.Time.Add(c.Step)
	ov := c.Store.Begin()
	if err := f(ov, env); err != nil {
		return err
	}
	ov.Flush()
	return nil
}

// Must runs f and fails the test if it is refused.
func (c *Chain) Must(signer string, f Handler) {
	c.T.Helper()
	if err := c.Run(signer, f); err != nil {
		c.T.Fatal(err)
	}
}

// Expect runs f and wants space/code, or success for code 0. A refusal must leave the
// working state exactly as it was.
func (c *Chain) Expect(what string, space tx.Codespace, code uint32, signer string, f Handler) {
	c.T.Helper()
	before := c.Store.WorkingHash()
	err := c.Run(signer, f)
	switch {
	case code == 0 && err != nil:
		c.T.Errorf("%s: refused: %v", what, err)
	case code != 0 && (err == nil || err.Codespace != string(space) || err.Code != code):
		c.T.Errorf("%s: want %s/%d, got %v", what, space, code, err)
	case code != 0 && !bytes.Equal(c.Store.WorkingHash(), before):
		c.T.Errorf("%s: a refused transaction changed the state", what)
	}
}

// Commit commits everything run so far as the next block and returns the committed view.
func (c *Chain) Commit() *state.View {
	c.T.Helper()
	if _, err := c.Store.Commit(c.Store.LastCommit().Height + 1); err != nil {
		c.T.Fatal(err)
	}
	return c.Store.Committed()
}
