package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// SetRetention sets (as the registrar) how long a category's records are kept after their
// last write; 0 days removes the category's own period.
func (c *Client) SetRetention(ctx context.Context, registrar *keys.Keystore, category string, days int64, reason string) (wire.Result, error) {
	return c.Send(ctx, registrar, &erasure.SetRetentionBody{Category: category, Days: days, Reason: reason})
}

// RetentionPolicies lists the periods in force.
func (c *Client) RetentionPolicies(ctx context.Context) (*wire.RetentionPolicies, error) {
	var r wire.RetentionPolicies
	return &r, c.do(ctx, "GET", "/v1/retention", nil, &r)
}

// RetentionDue lists up to limit records due for expiry, in record id order after the id
// after ("": from the first); the query must be signed (As) by the registrar or an auditor.
func (c *Client) RetentionDue(ctx context.Context, after string, limit int) (*wire.RetentionDue, error) {
	var r wire.RetentionDue
	return &r, c.do(ctx, "GET", "/v1/retention/due?limit="+strconv.Itoa(limit)+"&after="+url.QueryEscape(after), nil, &r)
}

// ApplyRetention expires (as the registrar) every record due, erasure.MaxExpire per
// transaction, until none is left or a transaction is refused; it returns the records
// expired and those a legal hold keeps. progress, if set, is told after each transaction.
func (c *Client) ApplyRetention(ctx context.Context, registrar *keys.Keystore, progress func(expired int)) (expired []string, held []*erasure.Due, err error) {
	as := c.As(registrar)
	after := ""
	for {
		d, err := as.RetentionDue(ctx, after, erasure.MaxExpire)
		if err != nil {
			return expired, held, err
		}
		held = append(held, d.Held...)
		if len(d.Due) == 0 {
			return expired, held, nil
		}
		ids := make([]string, len(d.Due))
		for i, r := range d.Due {
			ids[i] = r.Record
		}
		if _, err := c.Send(ctx, registrar, &erasure.ExpireBody{Records: ids}); err != nil {
			return expired, held, err
		}
		expired = append(expired, ids...)
		after = ids[len(ids)-1]
		if progress != nil {
			progress(len(expired))
		}
	}
}
