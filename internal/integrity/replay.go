package integrity

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/state"
)

// replayer executes the stored blocks through a fresh application over a scratch state
// database, the way CometBFT drove the node's own application.
type replayer struct {
	dir string
	st  *state.Store
	app *app.App
	// written maps each index key to the last height whose block wrote it: no hash covers
	// the indexes, so this is how a damaged entry is dated. It is on disk beside the scratch
	// state, not in memory: a long chain has millions of index entries.
	written *pebble.DB
}

// newReplayer runs InitChain from the genesis and returns the app hash it produces, which
// the first block's header must carry.
func newReplayer(gen *types.GenesisDoc) (*replayer, []byte, error) {
	dir, err := os.MkdirTemp("", "ehrchain-verify-")
	if err != nil {
		return nil, nil, err
	}
	st, err := state.Open(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	w, err := pebble.Open(filepath.Join(dir, "written.db"), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	r := &replayer{dir: dir, st: st, app: app.New(gen.ChainID, st, nil), written: w}
	// The genesis validators, as CometBFT's handshake passes them.
	vals := make([]*types.Validator, len(gen.Validators))
	for i, v := range gen.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	res, err := r.app.InitChain(context.Background(), &abci.RequestInitChain{
		Time: gen.GenesisTime, ChainId: gen.ChainID, InitialHeight: gen.InitialHeight, AppStateBytes: gen.AppState,
		Validators: types.TM2PB.ValidatorUpdates(types.NewValidatorSet(vals))})
	if err != nil {
		r.close()
		return nil, nil, fmt.Errorf("replay genesis: %w", err)
	}
	return r, res.AppHash, nil
}

// block executes and commits one block.
func (r *replayer) block(b *types.Block) (*abci.ResponseFinalizeBlock, error) {
	res, err := r.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Txs: b.Txs.ToSliceOfBytes(), Hash: b.Hash(), Height: b.Height, Time: b.Time,
		NextValidatorsHash: b.NextValidatorsHash, ProposerAddress: b.ProposerAddress})
	if err != nil {
		return nil, err
	}
	wb := r.written.NewBatch()
	height := binary.BigEndian.AppendUint64(nil, uint64(b.Height))
	if err := r.st.StagedIndexKeys(func(k []byte) { wb.Set(k, height, nil) }); err != nil {
		return nil, err
	}
	if err := wb.Commit(pebble.NoSync); err != nil {
		return nil, err
	}
	if _, err := r.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		return nil, err
	}
	return res, nil
}

// writtenAt is the last height whose block wrote index entry key, 0 if none did.
func (r *replayer) writtenAt(key []byte) int64 {
	v, closer, err := r.written.Get(key)
	if err != nil {
		return 0
	}
	defer closer.Close()
	return int64(binary.BigEndian.Uint64(v))
}

func (r *replayer) view() *state.View { return r.st.Committed() }

func (r *replayer) close() {
	r.written.Close()
	r.st.Close()
	os.RemoveAll(r.dir)
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
