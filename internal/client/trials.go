package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Trials lists every registered trial's public summary; overdueOnly keeps those whose
// results are overdue at the last block time.
func (c *Client) Trials(ctx context.Context, overdueOnly bool) (*wire.Trials, error) {
	var r wire.Trials
	q := ""
	if overdueOnly {
		q = "?overdue=1"
	}
	return &r, c.do(ctx, "GET", "/v1/trials"+q, nil, &r)
}

// Trial fetches a trial's whole public record: versions, IRB decisions, results postings.
func (c *Client) Trial(ctx context.Context, id string) (*wire.TrialResponse, error) {
	var r wire.TrialResponse
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id), nil, &r)
}

// TrialConsentForms fetches a trial's IRB-approved consent-form versions (public).
func (c *Client) TrialConsentForms(ctx context.Context, id string) (*wire.TrialConsentForms, error) {
	var r wire.TrialConsentForms
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id)+"/consent-forms", nil, &r)
}

// TrialEnrolments fetches the enrolments the signer (As) may see; withdrawnOnly keeps the
// withdrawals.
func (c *Client) TrialEnrolments(ctx context.Context, id string, withdrawnOnly bool) (*wire.TrialEnrolments, error) {
	var r wire.TrialEnrolments
	q := ""
	if withdrawnOnly {
		q = "?withdrawn=1"
	}
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id)+"/enrolments"+q, nil, &r)
}

// TrialDataset fetches the pseudonymised dataset the signer (As, the sponsor) may read now.
func (c *Client) TrialDataset(ctx context.Context, id string) (*wire.TrialDataset, error) {
	var r wire.TrialDataset
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id)+"/dataset", nil, &r)
}

// TrialRecord encrypts and writes a record as a trial observation by the investigator.
func (c *Client) TrialRecord(ctx context.Context, investigator *keys.Keystore, trial string, r NewRecord) (*records.Meta, error) {
	body, err := c.SealRecord(ctx, investigator, r)
	if err != nil {
		return nil, err
	}
	res, err := c.Send(ctx, investigator, &trials.ObserveBody{Trial: trial, Put: *body})
	if err != nil {
		return nil, err
	}
	m := body.Meta
	m.Height = res.Height
	return &m, nil
}

// TrialReport fetches a trial's transparency report with its proofs (public); check it
// with Verify against an app hash you trust.
func (c *Client) TrialReport(ctx context.Context, id string) (*wire.TrialReport, error) {
	var r wire.TrialReport
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id)+"/report", nil, &r)
}

// TrialReportProvenTime is TrialReport with the block headers that prove its block time
// (TimeProof); the node waits for the next block, which carries the report's app hash.
func (c *Client) TrialReportProvenTime(ctx context.Context, id string) (*wire.TrialReport, error) {
	var r wire.TrialReport
	return &r, c.do(ctx, "GET", "/v1/trials/"+url.PathEscape(id)+"/report?prove_time=1", nil, &r)
}

// TrialsReport fetches the regulator's view across all trials: violations by rule. It
// follows the pages to the last; Height and BlockTime are the first page's.
func (c *Client) TrialsReport(ctx context.Context) (*wire.TrialsReport, error) {
	r, err := c.TrialsReportPage(ctx, 0, "")
	for err == nil && r.Next != "" {
		var page wire.TrialsReport
		if err = c.do(ctx, "GET", r.Next, nil, &page); err == nil {
			r.Trials, r.Next = append(r.Trials, page.Trials...), page.Next
		}
	}
	return r, err
}

// TrialsReportPage fetches one page of the cross-trial view: at most limit trials (0: the
// node's default) after trial id after ("": from the first).
func (c *Client) TrialsReportPage(ctx context.Context, limit int, after string) (*wire.TrialsReport, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if after != "" {
		q.Set("after", after)
	}
	path := "/v1/trials/report"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r wire.TrialsReport
	return &r, c.do(ctx, "GET", path, nil, &r)
}
