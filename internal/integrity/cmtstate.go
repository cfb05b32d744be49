package integrity

import (
	"errors"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtstate "github.com/cometbft/cometbft/proto/tendermint/state"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"
)

// consensusStore reads CometBFT's consensus state database. CometBFT's own state store
// exits the process on a record it cannot decode; a verifier must report it instead, so the
// records are read here (same keys, same encodings).
type consensusStore struct{ db dbm.DB }

// valSetCheckpointInterval is how often CometBFT stores a full validator set when it does
// not change (state/store.go).
const valSetCheckpointInterval = 100000

func (s consensusStore) get(key string) ([]byte, error) {
	v, err := s.db.Get([]byte(key))
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("%s is missing", key)
	}
	return v, nil
}

// state is the consensus state saved after the last applied block.
func (s consensusStore) state() (sm.State, error) {
	v, err := s.get("stateKey")
	if err != nil {
		return sm.State{}, err
	}
	var pb cmtstate.State
	if err := pb.Unmarshal(v); err != nil {
		return sm.State{}, fmt.Errorf("does not decode: %v", err)
	}
	st, err := sm.FromProto(&pb)
	if err != nil {
		return sm.State{}, err
	}
	return *st, nil
}

// validators is the validator set of height (proposer priorities are not advanced: neither
// the set's hash nor commit verification depends on them).
func (s consensusStore) validators(height int64) (*types.ValidatorSet, error) {
	info, err := s.validatorsInfo(height)
	if err != nil {
		return nil, err
	}
	if info.ValidatorSet == nil {
		stored := max(height-height%valSetCheckpointInterval, info.LastHeightChanged)
		if stored > height {
			return nil, fmt.Errorf("the record of height %d refers to a later height %d", height, stored)
		}
		if info, err = s.validatorsInfo(stored); err != nil {
			return nil, err
		}
		if info.ValidatorSet == nil {
			return nil, fmt.Errorf("no validator set is stored at height %d", stored)
		}
	}
	return types.ValidatorSetFromProto(info.ValidatorSet)
}

func (s consensusStore) validatorsInfo(height int64) (*cmtstate.ValidatorsInfo, error) {
	v, err := s.get(fmt.Sprintf("validatorsKey:%d", height))
	if err != nil {
		return nil, err
	}
	var info cmtstate.ValidatorsInfo
	if err := info.Unmarshal(v); err != nil {
		return nil, fmt.Errorf("the record of height %d does not decode: %v", height, err)
	}
	return &info, nil
}

// params is the consensus parameters of height.
func (s consensusStore) params(height int64) (types.ConsensusParams, error) {
	info, err := s.paramsInfo(height)
	if err != nil {
		return types.ConsensusParams{}, err
	}
	if info.ConsensusParams.Equal(&cmtproto.ConsensusParams{}) {
		if info.LastHeightChanged > height {
			return types.ConsensusParams{}, fmt.Errorf("the record of height %d refers to a later height %d", height, info.LastHeightChanged)
		}
		if info, err = s.paramsInfo(info.LastHeightChanged); err != nil {
			return types.ConsensusParams{}, err
		}
	}
	return types.ConsensusParamsFromProto(info.ConsensusParams), nil
}

func (s consensusStore) paramsInfo(height int64) (*cmtstate.ConsensusParamsInfo, error) {
	v, err := s.get(fmt.Sprintf("consensusParamsKey:%d", height))
	if err != nil {
		return nil, err
	}
	var info cmtstate.ConsensusParamsInfo
	if err := info.Unmarshal(v); err != nil {
		return nil, fmt.Errorf("the record of height %d does not decode: %v", height, err)
	}
	return &info, nil
}

// results is the FinalizeBlock response CometBFT saved for height.
func (s consensusStore) results(height int64) (*abci.ResponseFinalizeBlock, error) {
	v, err := s.get(fmt.Sprintf("abciResponsesKey:%d", height))
	if err != nil {
		return nil, err
	}
	var res abci.ResponseFinalizeBlock
	if err := res.Unmarshal(v); err != nil {
		return nil, fmt.Errorf("do not decode: %v", err)
	}
	if res.AppHash == nil {
		return nil, errors.New("carry no app hash")
	}
	return &res, nil
}
