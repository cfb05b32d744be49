package client

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// ChartPack is a pack named by one of the patient's MedicationDispense records.
type ChartPack struct {
	Record string // the record's id in the patient's chart
	DispensedPack
}

// RecallAlert is a dispensed pack the ledger answers recalled (or suspect) for, with the
// answer and the app hash its proofs were checked against.
type RecallAlert struct {
	ChartPack
	Answer  *wire.VerifyResponse
	AppHash []byte
}

// DispensedPacksOf lists the patient's MedicationDispense records and decrypts them with
// the patient's own keys (each an audited read of their own chart, purpose treatment),
// returning the packs they name. Records of other resource types are not opened.
func (c *Client) DispensedPacksOf(ctx context.Context, patient *keys.Keystore) ([]ChartPack, error) {
	metas, err := c.ListRecords(ctx, patient, patient.ID, consent.Treatment)
	if err != nil {
		return nil, fmt.Errorf("list your records: %w", err)
	}
	var out []ChartPack
	for _, m := range metas {
		if m.ResourceType != DispenseResourceType {
			continue
		}
		r, err := c.ReadRecord(ctx, patient, patient.ID, m.RecordID, consent.Treatment)
		if err != nil {
			return nil, fmt.Errorf("read dispense record %s: %w", m.RecordID, err)
		}
		packs, err := DispensedPacks(r.Plaintext)
		if err != nil {
			return nil, fmt.Errorf("dispense record %s: %w", m.RecordID, err)
		}
		for _, p := range packs {
			out = append(out, ChartPack{Record: m.RecordID, DispensedPack: p})
		}
	}
	return out, nil
}

// CheckRecalls asks the public verification endpoint of the node c talks to about each
// pack, unsigned and with nothing but the pack's code, checks each answer's proofs
// offline against the app hash the node committed at the answer's height, and returns an
// alert for each pack answered recalled or suspect. Any node will do, since the answer is
// proven: a patient may ask through another node than the one that holds their chart.
func (c *Client) CheckRecalls(ctx context.Context, packs []ChartPack) ([]RecallAlert, error) {
	anon := *c
	anon.signer = nil // the query names no one
	var out []RecallAlert
	for _, p := range packs {
		res, appHash, err := anon.provenVerify(ctx, DigitalLink(p.Code))
		if err != nil {
			return nil, fmt.Errorf("verify pack %s: %w", p.Link, err)
		}
		if res.Verdict.Answer == supply.AnswerRecalled || res.Verdict.Answer == supply.AnswerSuspect {
			out = append(out, RecallAlert{ChartPack: p, Answer: res, AppHash: appHash})
		}
	}
	return out, nil
}

// RecallAlerts is the patient's recall check: the packs of their own dispense records,
// each verified against the ledger, those recalled or suspect returned. The manufacturer
// takes no part; the node sees the patient's audited reads of their own chart and then,
// separately and unsigned, the packs' codes.
func (c *Client) RecallAlerts(ctx context.Context, patient *keys.Keystore) ([]RecallAlert, error) {
	packs, err := c.DispensedPacksOf(ctx, patient)
	if err != nil {
		return nil, err
	}
	return c.CheckRecalls(ctx, packs)
}

// provenVerify verifies code and checks the answer against the app hash of the node's
// status at the answer's height, asking again until the two heights meet (a block
// passes between the two requests now and then).
func (c *Client) provenVerify(ctx context.Context, code string) (*wire.VerifyResponse, []byte, error) {
	for ctx.Err() == nil {
		res, err := c.VerifyCode(ctx, code)
		if err != nil {
			return nil, nil, err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return nil, nil, err
		}
		if st.Height != res.Height {
			continue
		}
		appHash, err := hex.DecodeString(st.AppHash)
		if err != nil {
			return nil, nil, fmt.Errorf("the node's app hash %q: %w", st.AppHash, err)
		}
		if err := res.Verify(appHash); err != nil {
			return nil, nil, fmt.Errorf("the answer does not verify against the app hash %X: %w", appHash, err)
		}
		return res, appHash, nil
	}
	return nil, nil, fmt.Errorf("the node's status never showed the answer's height: %w", ctx.Err())
}
