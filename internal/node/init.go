package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// InitOptions configure a new single-validator chain.
type InitOptions struct {
	Home          string
	ChainID       string
	RegistrarName string
	Passphrase    []byte
	KDF           keys.KDFParams
	Institution   string // runs the validator; "local" when empty
	Params        app.Params
}

// InitResult says what Init created.
type InitResult struct {
	ChainID     string
	RegistrarID string
	KeystoreDir string
	Validator   string
}

var chainIDRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$`)

// Init creates a home directory for a new single-validator chain with one registrar whose
// keystore is written to home/keys. It refuses to touch an existing home.
func Init(o InitOptions) (*InitResult, error) {
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if !chainIDRe.MatchString(o.ChainID) {
		return nil, fmt.Errorf("chain id %q: use 1-50 letters, digits, '.', '_' or '-'", o.ChainID)
	}
	if o.RegistrarName == "" {
		o.RegistrarName = "registrar"
	}
	if len(o.Passphrase) == 0 {
		return nil, fmt.Errorf("a passphrase for the registrar keystore is required")
	}
	if o.Institution == "" {
		o.Institution = "local"
	}
	p := Paths{o.Home}
	if err := p.refuseExisting(); err != nil {
		return nil, err
	}
	ks, err := keys.NewKeystore(o.RegistrarName)
	if err != nil {
		return nil, err
	}
	enc, err := keys.Encrypt(ks, o.Passphrase, o.KDF)
	if err != nil {
		return nil, err
	}
	hk, err := PrepareHome(o.Home)
	if err != nil {
		return nil, err
	}
	if err := (keys.Dir{Path: p.Keys()}).Save(o.RegistrarName, enc); err != nil {
		return nil, err
	}
	gen, err := NewGenesis(o.ChainID, []GenesisRegistrar{{Name: o.RegistrarName, Keystore: ks}},
		[]GenesisValidator{{Institution: o.Institution, Name: "validator-0", PubKey: hk.ValidatorKey, Power: 10}}, o.Params)
	if err != nil {
		return nil, err
	}
	if err := gen.SaveAs(p.Genesis()); err != nil {
		return nil, err
	}
	if err := DefaultConfig(o.ChainID).Save(p.Config()); err != nil {
		return nil, err
	}
	pub := hk.ValidatorKey
	return &InitResult{ChainID: o.ChainID, RegistrarID: ks.ID, KeystoreDir: p.Keys(), Validator: pub.Address().String()}, nil
}

// refuseExisting fails if the home already holds a node.
func (p Paths) refuseExisting() error {
	for _, f := range []string{p.Config(), p.Genesis(), p.PrivValKey(), p.AppDir()} {
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s already holds a node (%s exists); refusing to overwrite it. Use another --home or remove it first", p.Home, f)
		}
	}
	return nil
}

// HomeKeys are the keys PrepareHome generated.
type HomeKeys struct {
	ValidatorKey crypto.PubKey // consensus key (Ed25519)
	NodeID       string        // p2p id, for id@host:port peer addresses
}

// PrepareHome creates the directories of a new home with a fresh consensus key and p2p key.
// It refuses a home that already holds a node. The genesis and config are the caller's.
func PrepareHome(home string) (*HomeKeys, error) {
	p := Paths{home}
	if err := p.refuseExisting(); err != nil {
		return nil, err
	}
	for _, d := range []string{"config", "data", "app", "keys"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return nil, err
		}
	}
	pv := privval.GenFilePV(p.PrivValKey(), p.PrivValState())
	pv.Save()
	nk, err := p2p.LoadOrGenNodeKey(p.NodeKey())
	if err != nil {
		return nil, err
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, err
	}
	return &HomeKeys{ValidatorKey: pub, NodeID: string(nk.ID())}, nil
}

// GenesisRegistrar is a registrar created at genesis.
type GenesisRegistrar struct {
	Name     string
	Keystore *keys.Keystore
}

// GenesisValidator is a validator at genesis and the institution that runs it.
type GenesisValidator struct {
	Institution string
	Name        string
	PubKey      crypto.PubKey
	Power       int64
}

// NewGenesis builds the genesis of a chain: its registrars, and its validators recorded both
// in CometBFT's validator list and, with their institutions, in the application state.
func NewGenesis(chainID string, regs []GenesisRegistrar, vals []GenesisValidator, params app.Params) (*types.GenesisDoc, error) {
	st := app.GenesisState{Params: params}
	for _, r := range regs {
		st.Registrars = append(st.Registrars, app.GenesisIdentity{Name: r.Name,
			SignKey: r.Keystore.Keys.SignPublic(), EncKey: r.Keystore.Keys.EncPublic()})
	}
	gen := &types.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: consensusParams(),
	}
	for _, v := range vals {
		gen.Validators = append(gen.Validators, types.GenesisValidator{Address: v.PubKey.Address(),
			PubKey: v.PubKey, Power: v.Power, Name: v.Name})
		st.Validators = append(st.Validators, app.GenesisValidator{Institution: v.Institution,
			Name: v.Name, PubKey: v.PubKey.Bytes(), Power: v.Power})
	}
	gen.AppState, _ = json.Marshal(st)
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, err
	}
	return gen, nil
}

// consensusParams are CometBFT's defaults with room for bigger blocks: a record write is
// about 4 KiB (two ML-KEM key wraps), so the default 21 MiB would cap a block near 5,000
// writes.
func consensusParams() *types.ConsensusParams {
	p := types.DefaultConsensusParams()
	p.Block.MaxBytes = 64 << 20
	return p
}
