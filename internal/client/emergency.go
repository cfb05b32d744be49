package client

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// EnrolCustodian enrols (as the registrar) an identity as an institution's escrow custodian.
func (c *Client) EnrolCustodian(ctx context.Context, registrar *keys.Keystore, custodian, institution string) error {
	_, err := c.Send(ctx, registrar, &emergency.CustodianBody{Custodian: custodian, Institution: institution})
	return err
}

// Custodians lists the enrolled custodians (retired ones included, inactive).
func (c *Client) Custodians(ctx context.Context) ([]*emergency.Custodian, error) {
	var r wire.Custodians
	return r.Custodians, c.do(ctx, "GET", "/v1/emergency/custodians", nil, &r)
}

// PatientEmergency is a patient's break-glass view: visible and opted-out categories,
// escrows, and every declaration made for them (the patient's notifications). It is
// answered only to a signed query (As): all of it to the patient and auditors, a
// provider's own declarations to a provider, those asking for its shares to a custodian.
func (c *Client) PatientEmergency(ctx context.Context, patient string) (*wire.PatientEmergency, error) {
	var r wire.PatientEmergency
	return &r, c.do(ctx, "GET", "/v1/patients/"+url.PathEscape(patient)+"/emergency", nil, &r)
}

// Escrow splits the patient's current key of each category threshold-of-n across the given
// custodians (empty: every active custodian), each share sealed to one custodian, and
// submits one escrow per category. Run it again after a key rotation: old escrows open
// only records written under the old key.
func (c *Client) Escrow(ctx context.Context, patient *keys.Keystore, categories []string, threshold int, custodians []string) error {
	all, err := c.Custodians(ctx)
	if err != nil {
		return err
	}
	var ids []*identity.Identity
	for _, cu := range all {
		if !cu.Active || (len(custodians) > 0 && !slices.Contains(custodians, cu.ID)) {
			continue
		}
		r, err := c.Identity(ctx, cu.ID, false)
		if err != nil {
			return err
		}
		ids = append(ids, r.Identity)
	}
	if len(custodians) > 0 && len(ids) != len(custodians) {
		return fmt.Errorf("%d of the %d custodians named are not active custodians", len(custodians)-len(ids), len(custodians))
	}
	cks, err := c.CategoryKeys(ctx, patient.ID)
	if err != nil {
		return err
	}
	for _, cat := range categories {
		i := slices.IndexFunc(cks, func(k consent.CategoryKey) bool { return k.Category == cat })
		if i < 0 {
			return fmt.Errorf("you have published no key for category %q", cat)
		}
		body, err := emergency.Split(patient, cat, cks[i].Version, threshold, ids)
		if err != nil {
			return err
		}
		if _, err := c.Send(ctx, patient, body); err != nil {
			return err
		}
	}
	return nil
}

// OptOut opts categories out of break-glass (undo: back in).
func (c *Client) OptOut(ctx context.Context, patient *keys.Keystore, categories []string, undo bool) error {
	_, err := c.Send(ctx, patient, &emergency.OptOutBody{Categories: categories, Undo: undo})
	return err
}

// Declare declares an emergency for a patient and returns the declaration id.
func (c *Client) Declare(ctx context.Context, provider *keys.Keystore, b emergency.DeclareBody) (string, error) {
	res, err := c.Send(ctx, provider, &b)
	if err != nil {
		return "", err
	}
	return emergency.DeclarationID(res.Hash), nil
}

// Declarations lists the declarations the signer (As) may see; activeOnly keeps those
// whose window is open.
func (c *Client) Declarations(ctx context.Context, activeOnly bool) ([]*emergency.Declaration, error) {
	var r wire.Declarations
	q := ""
	if activeOnly {
		q = "?active=1"
	}
	return r.Declarations, c.do(ctx, "GET", "/v1/emergency/declarations"+q, nil, &r)
}

// Declaration fetches one declaration with the escrows it covers, for a signer (As) who
// may see it.
func (c *Client) Declaration(ctx context.Context, id string) (*wire.DeclarationResponse, error) {
	var r wire.DeclarationResponse
	return &r, c.do(ctx, "GET", "/v1/emergency/declarations/"+url.PathEscape(id), nil, &r)
}

// ReleaseShares is one pass of a custodian's node: for every open declaration covering an
// escrow it holds a share of, it re-seals that share to the declaring provider and submits
// the release. It returns how many shares it released; it tries every declaration and
// reports the first error.
func (c *Client) ReleaseShares(ctx context.Context, custodian *keys.Keystore) (int, error) {
	as := c.As(custodian) // the node answers a custodian the declarations that ask for its shares
	ds, err := as.Declarations(ctx, true)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, d := range ds {
		full, err := as.Declaration(ctx, d.ID)
		if err != nil {
			first = cmpErr(first, err)
			continue
		}
		prov, err := c.Identity(ctx, d.Provider, false)
		if err != nil {
			first = cmpErr(first, err)
			continue
		}
		if !prov.Identity.Active {
			continue // deactivated since it declared: the ledger refuses releases to it
		}
		for _, e := range full.Escrows {
			holds := slices.ContainsFunc(e.Shares, func(s emergency.EscrowShare) bool { return s.Custodian == custodian.ID })
			done := slices.ContainsFunc(full.Declaration.Releases, func(r emergency.Release) bool {
				return r.Custodian == custodian.ID && r.Category == e.Category && r.Version == e.Version && r.Escrow == e.Height
			})
			if !holds || done {
				continue
			}
			body, err := emergency.Reseal(custodian, e, full.Declaration, prov.Identity)
			if err == nil {
				_, err = c.Send(ctx, custodian, body)
			}
			if err != nil {
				first = cmpErr(first, fmt.Errorf("release %s %s v%d: %w", d.ID, e.Category, e.Version, err))
				continue
			}
			n++
		}
	}
	return n, first
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// EmergencyRead reads a record under the provider's emergency declaration (purpose
// emergency, recorded like every read) and decrypts it with the category key rebuilt from
// the custodians' released shares.
func (c *Client) EmergencyRead(ctx context.Context, provider *keys.Keystore, patient, record string) (*ReadResult, error) {
	resp, err := c.read(ctx, provider, patient, record, consent.Emergency)
	if err != nil {
		return nil, err
	}
	out := &ReadResult{Outcome: resp.Outcome, Meta: resp.Record, History: resp.History}
	if resp.Outcome.Emergency == "" {
		// Allowed by a grant or authorship: the ordinary keys open it.
		pt, err := Decrypt(provider, resp.Record, resp.Ciphertext, resp.Share)
		out.Plaintext = pt
		return out, err
	}
	priv, err := c.EmergencyKey(ctx, provider, resp.Outcome.Emergency, resp.Record.Category, resp.Record.CategoryVersion)
	if err != nil {
		return out, err
	}
	out.Plaintext, err = DecryptWithCategoryKey(priv, resp.Record, resp.Ciphertext)
	return out, err
}

// ErrNoEscrow means the patient has no escrow of the record's category key version.
var ErrNoEscrow = errors.New("no escrow of this category key version")

// EmergencyKey rebuilds a patient's category key version from the shares custodians
// released to the provider for a declaration.
func (c *Client) EmergencyKey(ctx context.Context, provider *keys.Keystore, declaration, category string, version uint32) (hpke.PrivateKey, error) {
	full, err := c.As(provider).Declaration(ctx, declaration)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(full.Escrows, func(e *emergency.Escrow) bool { return e.Category == category && e.Version == version })
	if i < 0 {
		return nil, fmt.Errorf("%w: %q version %d of patient %s", ErrNoEscrow, category, version, full.Declaration.Patient)
	}
	return emergency.Reconstruct(provider, full.Declaration, full.Escrows[i])
}

// UrgentWrite encrypts and writes a record under the provider's active emergency
// declaration for the patient; it is ordered ahead of routine transactions.
func (c *Client) UrgentWrite(ctx context.Context, provider *keys.Keystore, r NewRecord) (*records.Meta, error) {
	body, err := c.SealRecord(ctx, provider, r)
	if err != nil {
		return nil, err
	}
	res, err := c.Send(ctx, provider, &emergency.UrgentPutBody{PutBody: *body})
	if err != nil {
		return nil, err
	}
	m := body.Meta
	m.Height = res.Height
	return &m, nil
}

// Justify submits the declaring provider's justification.
func (c *Client) Justify(ctx context.Context, provider *keys.Keystore, declaration, text string) error {
	_, err := c.Send(ctx, provider, &emergency.JustifyBody{Declaration: declaration, Text: text})
	return err
}

// Review submits an auditor's verdict on a justified declaration.
func (c *Client) Review(ctx context.Context, auditor *keys.Keystore, declaration, verdict, note string) error {
	_, err := c.Send(ctx, auditor, &emergency.ReviewBody{Declaration: declaration, Verdict: verdict, Note: note})
	return err
}

// ReEscrow escrows the current key version of every category whose latest escrow is for an
// older version (after a revocation rotated it), with the same threshold and custodians
// (those still active). It returns the categories escrowed again.
func (c *Client) ReEscrow(ctx context.Context, patient *keys.Keystore) ([]string, error) {
	pe, err := c.As(patient).PatientEmergency(ctx, patient.ID)
	if err != nil {
		return nil, err
	}
	cks, err := c.CategoryKeys(ctx, patient.ID)
	if err != nil {
		return nil, err
	}
	latest := map[string]*emergency.Escrow{}
	for _, e := range pe.Escrows {
		if l := latest[e.Category]; l == nil || e.Version > l.Version {
			latest[e.Category] = e
		}
	}
	active, err := c.Custodians(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, k := range cks {
		e := latest[k.Category]
		if e == nil || e.Version >= k.Version {
			continue
		}
		var ids []string
		for _, s := range e.Shares {
			if slices.ContainsFunc(active, func(cu *emergency.Custodian) bool { return cu.ID == s.Custodian && cu.Active }) {
				ids = append(ids, s.Custodian)
			}
		}
		if err := c.Escrow(ctx, patient, []string{k.Category}, e.Threshold, ids); err != nil {
			return done, fmt.Errorf("re-escrow %q: %w", k.Category, err)
		}
		done = append(done, k.Category)
	}
	return done, nil
}
