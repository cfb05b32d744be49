package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Citations reads the supply-chain dispenses a record cites, with their proofs (sign the
// query with As: only the record's patient or author, the registrar or an auditor see them).
func (c *Client) Citations(ctx context.Context, record string) (*crosstx.CitationsAnswer, error) {
	var r crosstx.CitationsAnswer
	return &r, c.do(ctx, "GET", "/v1/records/"+url.PathEscape(record)+"/citations", nil, &r)
}

// DispenseProof asks a supply-chain node (this client) for the proven dispensing event of
// pack epc whose Event Hash ID is hashID, and builds the citation of it from record for
// the light client clientID of the EHR chain. The proof is of the supply chain's state at
// the answer's height: the EHR chain's client must have verified the header after it.
func (c *Client) DispenseProof(ctx context.Context, record, clientID, epc, hashID string) (*crosstx.CiteBody, error) {
	digest := supply.Digest(hashID)
	if digest == "" {
		return nil, fmt.Errorf("%q is not an EPCIS Event Hash ID (ni:///sha-256;…?ver=CBV2.0)", hashID)
	}
	res, err := c.QueryEventsProven(ctx, url.Values{"MATCH_anyEPC": {epc}, "EQ_bizStep": {"dispensing"}})
	if err != nil {
		return nil, err
	}
	for _, e := range res.Events {
		if e.HashID == hashID && e.Proof != nil {
			return &crosstx.CiteBody{Record: record, ClientID: clientID, Digest: digest, EPC: epc, Event: e.Value,
				Proof: e.Proof}, nil
		}
	}
	return nil, errors.New("the supply chain answers no dispensing event " + hashID + " of " + epc + " to this query")
}

// CiteDispense submits a citation signed by the record's author and waits for its commit.
func (c *Client) CiteDispense(ctx context.Context, author *keys.Keystore, b *crosstx.CiteBody) (wire.Result, error) {
	return c.Send(ctx, author, b)
}

// ProviderProof asks a node of the provider's home shard (this client) for its identity
// entry with proof, as the recognition on another shard that follows it with clientID.
func (c *Client) ProviderProof(ctx context.Context, clientID, id string) (*crosstx.RecogniseBody, error) {
	r, err := c.Identity(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if r.Proof == nil || r.Value == nil {
		return nil, errors.New("the home shard answered identity " + id + " without a proof")
	}
	return &crosstx.RecogniseBody{ClientID: clientID, Identity: id, Entry: r.Value, Proof: r.Proof}, nil
}

// Recognise submits a recognition (anyone may) and waits for its commit.
func (c *Client) Recognise(ctx context.Context, as *keys.Keystore, b *crosstx.RecogniseBody) (wire.Result, error) {
	return c.Send(ctx, as, b)
}
