package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Batch submission bounds: a bulk importer sends many transactions of one signer, which
// must reach the mempool in sequence order; one request per transaction spends most of
// its time on the round trip.
const (
	MaxBatchTxs   = 1000
	maxBatchBytes = 32 << 20
)

func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBytes))
	if err != nil {
		writeErr(w, tx.Space.Err(tx.CodeTooLarge, "request body: %v", err))
		return
	}
	var req wire.SubmitBatchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, Space.Err(CodeBadRequest, "request body is not the expected JSON: %v", err))
		return
	}
	if len(req.Txs) == 0 || len(req.Txs) > MaxBatchTxs {
		writeErr(w, Space.Err(CodeBadRequest, "send 1 to %d transactions", MaxBatchTxs))
		return
	}
	raws := make([][]byte, len(req.Txs))
	for i, t := range req.Txs {
		if raws[i], err = base64.StdEncoding.DecodeString(t); err != nil || len(raws[i]) == 0 {
			writeErr(w, Space.Err(CodeBadRequest, "tx %d must be non-empty standard base64", i))
			return
		}
		if terr := s.checkCapture(raws[i]); terr != nil {
			terr.Message = fmt.Sprintf("tx %d: %s", i, terr.Message)
			writeErr(w, terr)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	var out wire.SubmitBatchResponse
	for _, raw := range raws {
		res, err := s.b.Broadcast(ctx, raw, false)
		if err != nil {
			code := CodeInternal
			if errors.Is(err, wire.ErrMempool) || errors.Is(err, context.DeadlineExceeded) {
				code = CodeUnavailable
			}
			out.Error = Space.Err(code, "%v", err)
			break
		}
		out.Results = append(out.Results, res)
		if res.Code != 0 {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}
