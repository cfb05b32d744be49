package fhir

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// sequencer signs one identity's transactions with consecutive sequences and submits them
// without waiting for their blocks, so thousands are in flight. Only the last needs to be
// waited for: a transaction rejected in a block does not advance the sequence, so every
// later one would fail too, and the last one committing proves all did.
type sequencer struct {
	c       *client.Client
	ks      *keys.Keystore
	chainID string
	signer  [tx.SignerLen]byte
	next    uint64
	last    string
	sent    int
	first   uint64   // sequence of hashes[0]
	hashes  []string // every transaction submitted, by sequence
}

// stallLimit is how long wait lets the signer's committed sequence stand still before it
// concludes that a transaction was rejected or dropped (blocks come at least every second).
const stallLimit = 10 * time.Second

func (s *sequencer) admitted(hash string) {
	if len(s.hashes) == 0 {
		s.first = s.next
	}
	s.hashes = append(s.hashes, hash)
	s.next++
	s.sent++
	s.last = hash
}

func newSequencer(ctx context.Context, c *client.Client, ks *keys.Keystore) (*sequencer, error) {
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		return nil, err
	}
	signer, ok := tx.ParseSigner(ks.ID)
	if !ok {
		return nil, fmt.Errorf("keystore %s has a malformed id", ks.Name)
	}
	seq, err := c.Sequence(ctx, ks.ID)
	if err != nil {
		return nil, err
	}
	return &sequencer{c: c, ks: ks, chainID: chainID, signer: signer, next: seq}, nil
}

// submit signs body with the next sequence and hands it to the mempool.
func (s *sequencer) submit(ctx context.Context, body tx.Body) error {
	raw := tx.Sign(s.ks.Keys.Sign, s.signer, s.chainID, s.next, body).Encode()
	for {
		res, err := s.c.Submit(ctx, raw, false)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == http.StatusServiceUnavailable && ce.Codespace == string(api.Space) {
			select { // mempool full: let a block drain it
			case <-time.After(50 * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return err
		}
		s.admitted(res.Hash)
		return nil
	}
}

// wait blocks until the last submitted transaction is committed and checks it succeeded.
// If the signer's committed sequence stops advancing short of it, the transaction at that
// sequence was rejected in a block (its code is returned) or dropped from the mempool.
func (s *sequencer) wait(ctx context.Context) error {
	if s.last == "" {
		return nil
	}
	progress, seen := time.Now(), uint64(0)
	for {
		res, err := s.c.Tx(ctx, s.last)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
			cur, err := s.c.Sequence(ctx, s.ks.ID)
			if err != nil {
				return err
			}
			if cur > seen {
				progress, seen = time.Now(), cur
			} else if time.Since(progress) > stallLimit {
				return s.stalled(ctx, cur)
			}
			select {
			case <-time.After(20 * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return err
		}
		if res.Code != 0 {
			return rejected(res)
		}
		s.last = ""
		return nil
	}
}

// stalled explains why the transaction of sequence seq never committed.
func (s *sequencer) stalled(ctx context.Context, seq uint64) error {
	if seq < s.first || seq-s.first >= uint64(len(s.hashes)) {
		return fmt.Errorf("the signer's sequence stopped at %d, outside what was submitted", seq)
	}
	h := s.hashes[seq-s.first]
	if res, err := s.c.Tx(ctx, h); err == nil && res.Code != 0 {
		return rejected(res)
	}
	return fmt.Errorf("transaction %s (sequence %d) was neither committed nor rejected within %s: dropped from the mempool", h, seq, stallLimit)
}

func rejected(res app.Result) error {
	e := tx.Error{Codespace: res.Codespace, Code: res.Code, Message: fmt.Sprintf("rejected in block %d: %s", res.Height, res.Log)}
	return &client.Error{Status: api.HTTPStatus(&e), TxError: wire.TxError{Error: e, Hash: res.Hash, Height: res.Height}}
}

// submitMany signs bodies with consecutive sequences and hands them to the node in
// order, up to api.MaxBatchTxs per request, retrying from where the mempool stopped when
// it was full. It returns the hashes of the transactions admitted.
func (s *sequencer) submitMany(ctx context.Context, bodies []tx.Body) ([]string, error) {
	raws := make([][]byte, len(bodies))
	for i, b := range bodies {
		raws[i] = tx.Sign(s.ks.Keys.Sign, s.signer, s.chainID, s.next+uint64(i), b).Encode()
	}
	hashes := make([]string, 0, len(bodies))
	for len(raws) > 0 {
		resp, err := s.c.SubmitBatch(ctx, raws[:min(len(raws), api.MaxBatchTxs)])
		if err != nil {
			return hashes, err
		}
		for _, r := range resp.Results {
			if r.Code != 0 {
				e := tx.Error{Codespace: r.Codespace, Code: r.Code, Message: r.Log}
				return hashes, &client.Error{Status: api.HTTPStatus(&e), TxError: wire.TxError{Error: e, Hash: r.Hash}}
			}
			hashes = append(hashes, r.Hash)
			s.admitted(r.Hash)
		}
		raws = raws[len(resp.Results):]
		if resp.Error != nil {
			if resp.Error.Codespace != string(api.Space) || resp.Error.Code != api.CodeUnavailable {
				return hashes, &client.Error{Status: api.HTTPStatus(resp.Error), TxError: wire.TxError{Error: *resp.Error}}
			}
			select { // mempool full: let a block drain it
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return hashes, ctx.Err()
			}
		}
	}
	return hashes, nil
}
