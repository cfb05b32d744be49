package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// QueryEventsProven runs one page of an EPCIS query with proof=true: each answered event
// comes with the proof of its state value. Signed (As), answered as QueryEvents is.
// Check the page offline with ProvenQueryResponse.Verify(appHash, params) against an app
// hash you trust; pass the answer's Next as params' nextPageToken for the next page.
func (c *Client) QueryEventsProven(ctx context.Context, params url.Values) (*wire.ProvenQueryResponse, error) {
	q := url.Values{"proof": {"true"}}
	for k, v := range params {
		if k != "proof" {
			q[k] = v
		}
	}
	var r wire.ProvenQueryResponse
	return &r, c.do(ctx, "GET", "/epcis/events?"+q.Encode(), nil, &r)
}

// LotTrace fetches one page of the packs of lot lotNumber of a GTIN (14 digits, its
// Digital Link or urn:epc:idpat:sgtin:CP.IR.*), after the pack identifier after ("" from
// the first), at most limit (0: the node's maximum). Signed (As): a regulator sees every
// pack, a partner those it owned or received. Check it offline with
// LotTraceResponse.Verify; pass its Next as after for the next page.
func (c *Client) LotTrace(ctx context.Context, gtin, lotNumber, after string, limit int) (*wire.LotTraceResponse, error) {
	lot := supply.LotID(gtin, lotNumber)
	if lot == "" {
		return nil, fmt.Errorf("%q and lot %q name no lot: give the GTIN as 14 digits or its Digital Link, and the lot number", gtin, lotNumber)
	}
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/epcis/lots/" + url.PathEscape(lot) + "/trace"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r wire.LotTraceResponse
	return &r, c.do(ctx, "GET", path, nil, &r)
}
