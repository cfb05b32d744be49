package node

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"

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
	p := Paths{o.Home}
	for _, f := range []string{p.Config(), p.Genesis(), p.PrivValKey(), p.AppDir()} {
		if _, err := os.Stat(f); err == nil {
			return nil, fmt.Errorf("%s already holds a node (%s exists); refusing to overwrite it. Use another --home or remove it first", o.Home, f)
		}
	}
	for _, d := range []string{"config", "data", "app", "keys"} {
		if err := os.MkdirAll(p.Home+"/"+d, 0o700); err != nil {
			return nil, err
		}
	}
	ks, err := keys.NewKeystore(o.RegistrarName)
	if err != nil {
		return nil, err
	}
	enc, err := keys.Encrypt(ks, o.Passphrase, o.KDF)
	if err != nil {
		return nil, err
	}
	if err := (keys.Dir{Path: p.Keys()}).Save(o.RegistrarName, enc); err != nil {
		return nil, err
	}
	pv := privval.GenFilePV(p.PrivValKey(), p.PrivValState())
	pv.Save()
	if _, err := p2p.LoadOrGenNodeKey(p.NodeKey()); err != nil {
		return nil, err
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, err
	}
	appState, _ := json.Marshal(app.GenesisState{Registrars: []app.GenesisIdentity{{
		Name: o.RegistrarName, SignKey: ks.Keys.SignPublic(), EncKey: ks.Keys.EncPublic(),
	}}})
	gen := &types.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		ChainID:         o.ChainID,
		InitialHeight:   1,
		ConsensusParams: consensusParams(),
		Validators:      []types.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10, Name: "validator-0"}},
		AppState:        appState,
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, err
	}
	if err := gen.SaveAs(p.Genesis()); err != nil {
		return nil, err
	}
	if err := DefaultConfig(o.ChainID).save(p.Config()); err != nil {
		return nil, err
	}
	return &InitResult{ChainID: o.ChainID, RegistrarID: ks.ID, KeystoreDir: p.Keys(), Validator: pub.Address().String()}, nil
}

// consensusParams are CometBFT's defaults with room for bigger blocks: a record write is
// about 4 KiB (two ML-KEM key wraps), so the default 21 MiB would cap a block near 5,000
// writes.
func consensusParams() *types.ConsensusParams {
	p := types.DefaultConsensusParams()
	p.Block.MaxBytes = 64 << 20
	return p
}
