package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// PublishPlan publishes a plan (or its next version) as the insurer and returns the stored
// version.
func (c *Client) PublishPlan(ctx context.Context, insurer *keys.Keystore, p claims.Plan) (*claims.Plan, error) {
	if _, err := c.Send(ctx, insurer, &claims.PublishPlanBody{Plan: p}); err != nil {
		return nil, err
	}
	vs, err := c.Plan(ctx, insurer.ID, p.ID)
	if err != nil {
		return nil, err
	}
	return vs[len(vs)-1], nil
}

// Plan fetches every version of an insurer's plan, oldest first.
func (c *Client) Plan(ctx context.Context, insurer, plan string) ([]*claims.Plan, error) {
	var r wire.PlanResponse
	err := c.do(ctx, "GET", "/v1/insurers/"+url.PathEscape(insurer)+"/plans/"+url.PathEscape(plan), nil, &r)
	return r.Versions, err
}

// Plans lists an insurer's plans.
func (c *Client) Plans(ctx context.Context, insurer string) ([]wire.PlanSummary, error) {
	var r struct {
		Plans []wire.PlanSummary `json:"plans"`
	}
	return r.Plans, c.do(ctx, "GET", "/v1/insurers/"+url.PathEscape(insurer)+"/plans", nil, &r)
}

// Enroll records, as the insurer, a patient's membership of one of its plans.
func (c *Client) Enroll(ctx context.Context, insurer *keys.Keystore, b claims.EnrollBody) error {
	_, err := c.Send(ctx, insurer, &b)
	return err
}

// EndCoverage sets the last covered day of a coverage.
func (c *Client) EndCoverage(ctx context.Context, insurer *keys.Keystore, b claims.EndCoverageBody) error {
	_, err := c.Send(ctx, insurer, &b)
	return err
}

// EncounterRef points a claim at a stored encounter record version.
func EncounterRef(m *records.Meta) claims.EncounterRef {
	return claims.EncounterRef{Record: m.RecordID, Version: m.Version, Digest: hex.EncodeToString(m.Digest[:])}
}

// SubmitClaim submits a claim as the provider and returns it as adjudicated at commit.
func (c *Client) SubmitClaim(ctx context.Context, provider *keys.Keystore, b claims.SubmitBody) (*claims.Claim, error) {
	res, err := c.Send(ctx, provider, &b)
	if err != nil {
		return nil, err
	}
	return c.Claim(ctx, provider, claims.ClaimID(res.Hash))
}

// RequestPriorAuth asks an insurer to authorize a service and returns the request's id.
func (c *Client) RequestPriorAuth(ctx context.Context, provider *keys.Keystore, b claims.AuthRequestBody) (string, error) {
	res, err := c.Send(ctx, provider, &b)
	if err != nil {
		return "", err
	}
	return claims.AuthID(res.Hash), nil
}

// DecidePriorAuth approves or denies a pending prior authorization as the insurer.
func (c *Client) DecidePriorAuth(ctx context.Context, insurer *keys.Keystore, id string, approve bool, note string) error {
	_, err := c.Send(ctx, insurer, &claims.AuthDecisionBody{ID: id, Approve: approve, Note: note})
	return err
}

// RecordPayment records, as the insurer, a payment against a claim.
func (c *Client) RecordPayment(ctx context.Context, insurer *keys.Keystore, claim string, cents int64, ref string) error {
	_, err := c.Send(ctx, insurer, &claims.PaymentBody{Claim: claim, Amount: cents, Reference: ref})
	return err
}

// Appeal appeals a line of a claim (as its provider or patient).
func (c *Client) Appeal(ctx context.Context, who *keys.Keystore, claim string, line int, reason string) error {
	_, err := c.Send(ctx, who, &claims.AppealBody{Claim: claim, Line: line, Reason: reason})
	return err
}

// DecideAppeal upholds or overturns an appeal as the insurer.
func (c *Client) DecideAppeal(ctx context.Context, insurer *keys.Keystore, b claims.AppealDecisionBody) error {
	_, err := c.Send(ctx, insurer, &b)
	return err
}

// ClaimsQuery signs a claims query valid for five minutes and returns the node's answer.
func (c *Client) ClaimsQuery(ctx context.Context, who *keys.Keystore, kind, id string) (*claims.Answer, error) {
	chainID, err := c.chainID(ctx)
	if err != nil {
		return nil, err
	}
	q := &claims.Query{ChainID: chainID, Requester: who.ID, Kind: kind, ID: id, NotAfter: time.Now().Add(5 * time.Minute).Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(who.Keys.Sign)
	return c.SubmitClaimsQuery(ctx, q)
}

// SubmitClaimsQuery sends an already signed claims query.
func (c *Client) SubmitClaimsQuery(ctx context.Context, q *claims.Query) (*claims.Answer, error) {
	var a claims.Answer
	err := c.do(ctx, "POST", "/v1/claims/query", wire.ClaimsQueryBody{Request: base64.StdEncoding.EncodeToString(q.Encode())}, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// Claim fetches one claim the requester is a party to.
func (c *Client) Claim(ctx context.Context, who *keys.Keystore, id string) (*claims.Claim, error) {
	a, err := c.ClaimsQuery(ctx, who, claims.QueryClaim, id)
	if err != nil {
		return nil, err
	}
	if len(a.Claims) != 1 {
		return nil, fmt.Errorf("the node answered %d claims for %s", len(a.Claims), id)
	}
	return a.Claims[0], nil
}

// PriorAuth fetches one prior authorization the requester is a party to.
func (c *Client) PriorAuth(ctx context.Context, who *keys.Keystore, id string) (*claims.PriorAuth, error) {
	a, err := c.ClaimsQuery(ctx, who, claims.QueryAuth, id)
	if err != nil {
		return nil, err
	}
	if len(a.Auths) != 1 {
		return nil, fmt.Errorf("the node answered %d prior authorizations for %s", len(a.Auths), id)
	}
	return a.Auths[0], nil
}
