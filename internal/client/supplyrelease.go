package client

import (
	"context"

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
	var r wire.ReleasesResponse
	return &r, c.do(ctx, "GET", seqPagePath("/epcis/releases", after, limit), nil, &r)
}
