package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Capture signs an EPCIS 2.0 capture document (JSON-LD, as the partner's system wrote it)
// as ks, posts it to /epcis/capture and waits for its commit. The answer gives each
// event's Event Hash ID and whether it was new to the ledger.
func (c *Client) Capture(ctx context.Context, ks *keys.Keystore, doc []byte) (*wire.CaptureResponse, error) {
	chainID, err := c.chainID(ctx)
	if err != nil {
		return nil, err
	}
	signer, ok := tx.ParseSigner(ks.ID)
	if !ok {
		return nil, fmt.Errorf("keystore %s has a malformed id %q", ks.Name, ks.ID)
	}
	seq, err := c.Sequence(ctx, ks.ID)
	if err != nil {
		return nil, err
	}
	raw := tx.Sign(ks.Keys.Sign, signer, chainID, seq, &supply.CaptureBody{Document: doc}).Encode()
	var r wire.CaptureResponse
	return &r, c.do(ctx, "POST", "/epcis/capture", wire.CaptureRequest{Tx: base64.StdEncoding.EncodeToString(raw)}, &r)
}

// EPCISEvent fetches a stored event by its Event Hash ID (or the id's 64 hex digits).
func (c *Client) EPCISEvent(ctx context.Context, hashID string) (*supply.StoredEvent, error) {
	var r wire.EPCISEventResponse
	return r.Event, c.do(ctx, "GET", "/epcis/events/"+url.PathEscape(hashID), nil, &r)
}

// BindPartner binds, as the registrar, GS1 company prefixes and GLNs to a trading partner.
func (c *Client) BindPartner(ctx context.Context, registrar *keys.Keystore, b supply.BindBody) error {
	_, err := c.Send(ctx, registrar, &b)
	return err
}

// Trace fetches the chain of custody of an item (an EPC URI or a GS1 Digital Link) with
// a proof of each record and event. The query is signed (As): the partners in the item's
// custody and regulators see it. Check it offline with TraceResponse.Verify against an
// app hash you trust.
func (c *Client) Trace(ctx context.Context, epc string) (*wire.TraceResponse, error) {
	var r wire.TraceResponse
	return &r, c.do(ctx, "GET", "/epcis/items/"+url.PathEscape(epc)+"/trace", nil, &r)
}

// Suspects lists one page of suspect-product events after sequence number after (0: from
// the first), at most limit (0: the node's default). Signed (As): a regulator sees all,
// a trading partner those that involve it. Pass the answer's Next as after for the next
// page.
func (c *Client) Suspects(ctx context.Context, after uint64, limit int) (*wire.SuspectsResponse, error) {
	var r wire.SuspectsResponse
	return &r, c.do(ctx, "GET", seqPagePath("/epcis/suspects", after, limit), nil, &r)
}

// seqPagePath is path with the after= and limit= of a sequence-numbered listing (0: the
// node's default).
func seqPagePath(path string, after uint64, limit int) string {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// VerifyCode asks whether the pack a GS1 Digital Link URI or DataMatrix element string
// names is genuine (no signature needed). Check the answer offline with
// VerifyResponse.Verify against an app hash you trust.
func (c *Client) VerifyCode(ctx context.Context, code string) (*wire.VerifyResponse, error) {
	var r wire.VerifyResponse
	return &r, c.do(ctx, "GET", "/epcis/verify?"+url.Values{"code": {code}}.Encode(), nil, &r)
}

// QueryEvents runs one page of an EPCIS 2.0 query (GET /epcis/events with the standard's
// parameters, e.g. MATCH_epc, EQ_bizStep, perPage). Signed (As): a trading partner is
// answered the events it captured and those of items in its custody, a regulator all.
// next is the path of the following page from the Link header ("" on the last page).
func (c *Client) QueryEvents(ctx context.Context, params url.Values) (doc *wire.EPCISQueryDocument, next string, err error) {
	path := "/epcis/events"
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	return c.QueryEventsPage(ctx, path)
}

// QueryEventsPage fetches the query page at path, as a previous page's next names it.
func (c *Client) QueryEventsPage(ctx context.Context, path string) (*wire.EPCISQueryDocument, string, error) {
	var d wire.EPCISQueryDocument
	h, err := c.doResponse(ctx, "GET", path, nil, nil, &d)
	if err != nil {
		return nil, "", err
	}
	return &d, NextLink(h.Get("Link")), nil
}

// NextLink is the target of the rel="next" entry of a Link header, or "".
func NextLink(link string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
	}
	return ""
}
