package interchain_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// appChain is this chain: a real App over a real store, driven through the ABCI calls
// CometBFT makes, with every block kept for replay.
type appChain struct {
	t       *testing.T
	chainID string
	st      *state.Store
	app     *app.App
	reg     *keys.Keystore
	height  int64
	start   time.Time // block h has time start + h seconds
	seqs    map[string]uint64
	blocks  [][][]byte
	hashes  [][]byte // the app hash after each block
	genesis []byte
}

func newAppChain(t *testing.T, chainID string, start time.Time) *appChain {
	t.Helper()
	reg := newKS(t, "registrar")
	g, err := json.Marshal(app.GenesisState{Registrars: []app.GenesisIdentity{{Name: "registrar", SignKey: reg.Keys.SignPublic(), EncKey: reg.Keys.EncPublic()}},
		Params: app.Params{OpenRegistration: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := &appChain{t: t, chainID: chainID, reg: reg, start: start, seqs: map[string]uint64{}, genesis: g}
	c.st, c.app = c.open()
	return c
}

// open starts a fresh App of this chain's genesis on a new store.
func (c *appChain) open() (*state.Store, *app.App) {
	st, err := state.Open(c.t.TempDir())
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { st.Close() })
	a := app.New(c.chainID, st, nil)
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: c.chainID, InitialHeight: 1, Time: c.start, AppStateBytes: c.genesis}); err != nil {
		c.t.Fatal(err)
	}
	return st, a
}

func (c *appChain) time(h int64) time.Time { return c.start.Add(time.Duration(h) * time.Second) }

func (c *appChain) block(txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	c.height++
	c.blocks = append(c.blocks, txs)
	resp, err := c.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: c.height, Time: c.time(c.height), Txs: txs})
	if err != nil {
		c.t.Fatalf("finalize block %d: %v", c.height, err)
	}
	if _, err := c.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		c.t.Fatal(err)
	}
	c.hashes = append(c.hashes, resp.AppHash)
	return resp.TxResults
}

func (c *appChain) sign(ks *keys.Keystore, body tx.Body) []byte {
	signer, _ := tx.ParseSigner(ks.ID)
	seq := c.seqs[ks.ID]
	c.seqs[ks.ID]++
	return tx.Sign(ks.Keys.Sign, signer, c.chainID, seq, body).Encode()
}

// expect commits body signed by ks alone in a block and wants space/code (0: accepted); a
// refused transaction uses no sequence.
func (c *appChain) expect(what string, ks *keys.Keystore, body tx.Body, space tx.Codespace, code uint32) {
	c.t.Helper()
	r := c.block(c.sign(ks, body))[0]
	if r.Code != 0 {
		c.seqs[ks.ID]--
	}
	switch {
	case code == 0 && r.Code != 0:
		c.t.Fatalf("%s: refused: %s/%d %s", what, r.Codespace, r.Code, r.Log)
	case code != 0 && (r.Codespace != string(space) || r.Code != code):
		c.t.Fatalf("%s: got %s/%d %q, want %s/%d", what, r.Codespace, r.Code, r.Log, space, code)
	}
}

func (c *appChain) ok(what string, ks *keys.Keystore, body tx.Body) {
	c.t.Helper()
	c.expect(what, ks, body, "", 0)
}

func (c *appChain) refused(what string, ks *keys.Keystore, body tx.Body, code uint32) {
	c.t.Helper()
	c.expect(what, ks, body, interchain.Space, code)
}

func (c *appChain) view() *state.View { return c.st.Committed() }

func (c *appChain) identity(id string) *identity.Identity { return identity.Get(c.view(), id) }

// register registers ks with role, as the registrar.
func (c *appChain) register(ks *keys.Keystore, role identity.Role, org, licence string) {
	c.t.Helper()
	b := &identity.Register{Role: role, Name: ks.Name, Organization: org, Licence: licence, SignKey: ks.Keys.SignPublic(), EncKey: ks.Keys.EncPublic()}
	b.Proof = identity.SignPop(ks.Keys.Sign, c.chainID, "register", ks.ID, b.EncKey)
	c.ok("register "+ks.Name, c.reg, b)
}

// patient self-registers a patient with a "general" category key.
func (c *appChain) patient(name string) (*keys.Keystore, consent.CategoryKey) {
	c.t.Helper()
	p := newKS(c.t, name)
	c.ok("register patient", p, &identity.Register{Role: identity.Patient, SignKey: p.Keys.SignPublic(), EncKey: p.Keys.EncPublic()})
	k, err := keys.Generate()
	if err != nil {
		c.t.Fatal(err)
	}
	ck := consent.CategoryKey{Category: "general", Version: 1, EncKey: k.EncPublic()}
	c.ok("publish the general key", p, &consent.PublishKeysBody{Keys: []consent.CategoryKey{ck}})
	return p, ck
}

// grant is patient's read and write grant to grantee, with the category key share
// wrapped for the encryption key this chain holds for the grantee.
func (c *appChain) grant(patient *keys.Keystore, grantee string) {
	c.t.Helper()
	share, err := envelope.WrapKey(c.identity(grantee).EncKey, make([]byte, 32), []byte("share"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.ok("grant", patient, &consent.GrantBody{Grant: consent.Grant{Grantee: grantee, Actions: []string{"read", "write"}, Purposes: []string{"treatment"},
		KeyShares: []consent.KeyShare{{Category: "general", Version: 1, Recipient: grantee, Wrapped: share}}}})
}

// write stores record id of resourceType for patient, written by author.
func (c *appChain) write(author *keys.Keystore, patient string, ck consent.CategoryKey, id, resourceType string) {
	c.t.Helper()
	aad := envelope.AAD(id, 1, patient, ck.Category)
	dk, ct, err := envelope.Seal([]byte(`{"resourceType":"`+resourceType+`"}`), aad)
	if err != nil {
		c.t.Fatal(err)
	}
	m := records.Meta{RecordID: id, Version: 1, Patient: patient, Category: ck.Category, ResourceType: resourceType,
		ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: ck.Version,
		AuthorKeyVersion: c.identity(author.ID).KeyVersion}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		c.t.Fatal(err)
	}
	if m.AuthorWrap, err = envelope.WrapKey(author.Keys.EncPublic(), dk, aad); err != nil {
		c.t.Fatal(err)
	}
	c.ok("write "+id, author, &records.PutBody{Meta: m, Ciphertext: ct})
}

// read runs who's signed read of record id and returns the committed outcome.
func (c *appChain) read(who *keys.Keystore, patient, id string) *records.Outcome {
	c.t.Helper()
	q := &records.ReadRequest{ChainID: c.chainID, Requester: who.ID, Patient: patient, Record: id, Purpose: "treatment",
		NotAfter: c.time(c.height + 1).Add(time.Minute).Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(who.Keys.Sign)
	w := tx.NewWriter(0)
	(&records.ReadBatch{Requests: []*records.ReadRequest{q}}).Encode(w)
	raw := (&tx.Envelope{ChainID: c.chainID, BodyType: records.TypeReadBatch, Body: w.Bytes(), Signature: make([]byte, 64)}).Encode()
	if r := c.block(raw)[0]; r.Code != 0 {
		c.t.Fatalf("read batch refused: %s", r.Log)
	}
	return records.Result(c.view(), q)
}

// replay runs every block into two fresh states and compares the app hash at each height
// with the original run's.
func (c *appChain) replay() {
	c.t.Helper()
	for run := 0; run < 2; run++ {
		_, a := c.open()
		for i, txs := range c.blocks {
			h := int64(i + 1)
			resp, err := a.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h, Time: c.time(h), Txs: txs})
			if err != nil {
				c.t.Fatal(err)
			}
			if _, err := a.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
				c.t.Fatal(err)
			}
			if !bytes.Equal(resp.AppHash, c.hashes[i]) {
				c.t.Fatalf("replay %d: app hash at height %d is %X, the original run's %X", run, h, resp.AppHash, c.hashes[i])
			}
		}
	}
}

func newKS(t testing.TB, name string) *keys.Keystore {
	ks, err := keys.NewKeystore(name)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// follow creates client id of the counterparty on c from its light block 1 and relays the
// given headers, each verified from the one before.
func (c *appChain) follow(id, chainID string, relayer *keys.Keystore, first *types.LightBlock, next ...*types.LightBlock) {
	c.t.Helper()
	c.ok("create client "+id, c.reg, &interchain.CreateBody{ClientID: id, ChainID: chainID, TrustingPeriod: 7 * 24 * time.Hour, LightBlock: encodeLB(c.t, first)})
	trusted := first.Height
	for _, lb := range next {
		c.ok(fmt.Sprintf("relay header %d to %s", lb.Height, id), relayer, &interchain.UpdateBody{ClientID: id, TrustedHeight: trusted, LightBlock: encodeLB(c.t, lb)})
		trusted = lb.Height
	}
}

// frozenClient creates client id of a synthetic chain and freezes it with two conflicting
// headers of one height.
func (c *appChain) frozenClient(id string, relayer *keys.Keystore) {
	c.t.Helper()
	vals := interchaintest.NewSet(id, 4, 10)
	at := c.time(c.height).Add(-time.Minute)
	hd := func(h int64, app string) *types.LightBlock {
		return interchaintest.Sign(interchaintest.Header{ChainID: id + "-chain", Height: h, Time: at.Add(time.Duration(h) * time.Second), AppHash: []byte(app), Vals: vals})
	}
	c.ok("create "+id, c.reg, &interchain.CreateBody{ClientID: id, ChainID: id + "-chain", TrustingPeriod: 7 * 24 * time.Hour, LightBlock: encodeLB(c.t, hd(1, "s0"))})
	c.ok("misbehaviour of "+id, relayer, &interchain.MisbehaviourBody{ClientID: id,
		A: interchain.Evidence{TrustedHeight: 1, LightBlock: encodeLB(c.t, hd(5, "one"))},
		B: interchain.Evidence{TrustedHeight: 1, LightBlock: encodeLB(c.t, hd(5, "another"))}})
}

// lightBlocks reads the light blocks of heights from a stopped node's CometBFT stores.
func lightBlocks(t *testing.T, home string, heights ...int64) map[int64]*types.LightBlock {
	t.Helper()
	bdb, err := dbm.NewGoLevelDB("blockstore", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	sdb, err := dbm.NewGoLevelDB("state", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	bs, ss := store.NewBlockStore(bdb), sm.NewStore(sdb, sm.StoreOptions{})
	out := map[int64]*types.LightBlock{}
	for _, h := range heights {
		meta, commit := bs.LoadBlockMeta(h), bs.LoadBlockCommit(h)
		vals, err := ss.LoadValidators(h)
		if meta == nil || commit == nil || err != nil {
			t.Fatalf("block %d: meta %v, commit %v, validators: %v", h, meta != nil, commit != nil, err)
		}
		out[h] = &types.LightBlock{SignedHeader: &types.SignedHeader{Header: &meta.Header, Commit: commit}, ValidatorSet: vals}
	}
	return out
}
