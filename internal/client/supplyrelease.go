package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Release releases quarantined items (EPC URIs or GS1 Digital Links) with a reason, as the
// regulator ks: the product was investigated and found not illegitimate. All or nothing:
// an item that is not quarantined refuses the whole release.
func (c *Client) Release(ctx context.Context, ks *keys.Keystore, items []string, reason string) (wire.Result, error) {
	return c.Send(ctx, ks, &supply.ReleaseBody{Items: items, Reason: reason})
}

// Releases lists one page of the releases from quarantine (signed, As): all of them for a
// regulator, those naming an item in its custody for a trading partner.
func (c *Client) Releases(ctx context.Context, after uint64, limit int) (*wire.ReleasesResponse, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/epcis/releases"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r wire.ReleasesResponse
	return &r, c.do(ctx, "GET", path, nil, &r)
}
