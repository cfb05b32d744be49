package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// NewAuditQuery signs a query for one page of audit events, valid for five minutes.
func (c *Client) NewAuditQuery(ctx context.Context, who *keys.Keystore, f audit.Filter) (*audit.QueryRequest, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	chainID, err := c.chainID(ctx)
	if err != nil {
		return nil, err
	}
	q := &audit.QueryRequest{ChainID: chainID, Requester: who.ID, Filter: f, NotAfter: time.Now().Add(5 * time.Minute).Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(who.Keys.Sign)
	return q, nil
}

// SubmitAuditQuery sends a signed audit query and returns the page the node answered.
func (c *Client) SubmitAuditQuery(ctx context.Context, q *audit.QueryRequest) (*wire.AuditQueryResponse, error) {
	var resp wire.AuditQueryResponse
	err := c.do(ctx, "POST", "/v1/audit/query", wire.AuditQueryBody{Request: base64.StdEncoding.EncodeToString(q.Encode())}, &resp)
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

// AuditQuery asks for one page of the audit events matching f that who may see.
func (c *Client) AuditQuery(ctx context.Context, who *keys.Keystore, f audit.Filter) (*wire.AuditQueryResponse, error) {
	q, err := c.NewAuditQuery(ctx, who, f)
	if err != nil {
		return nil, err
	}
	return c.SubmitAuditQuery(ctx, q)
}

// AuditQueryAll follows the pages of f from f.Cursor to the end of the log, signing a
// query per page, and calls fn with each page.
func (c *Client) AuditQueryAll(ctx context.Context, who *keys.Keystore, f audit.Filter, fn func(*wire.AuditQueryResponse) error) error {
	for {
		page, err := c.AuditQuery(ctx, who, f)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		f.Cursor = page.Next
	}
}
