package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"crypto/hpke"

	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// CategoryKeys fetches a patient's current category public keys.
func (c *Client) CategoryKeys(ctx context.Context, patient string) ([]consent.CategoryKey, error) {
	var r wire.CategoryKeys
	return r.Keys, c.do(ctx, "GET", "/v1/patients/"+patient+"/keys", nil, &r)
}

// Grants fetches every grant a patient issued.
func (c *Client) Grants(ctx context.Context, patient string) ([]*consent.Grant, error) {
	var r struct {
		Grants []*consent.Grant `json:"grants"`
	}
	return r.Grants, c.do(ctx, "GET", "/v1/patients/"+patient+"/grants", nil, &r)
}

// PublishCategories creates keys for the categories the patient's keystore lacks and
// publishes them. The caller must save the keystore afterwards (it now holds new keys).
func (c *Client) PublishCategories(ctx context.Context, ks *keys.Keystore, categories []string) (int, error) {
	onChain, err := c.CategoryKeys(ctx, ks.ID)
	if err != nil {
		return 0, err
	}
	body := &consent.PublishKeysBody{}
	for _, cat := range categories {
		if slices.ContainsFunc(onChain, func(k consent.CategoryKey) bool { return k.Category == cat }) {
			continue
		}
		kp, err := keys.Generate()
		if err != nil {
			return 0, err
		}
		ks.AddCategoryKey(cat, 1, kp.Enc)
		body.Keys = append(body.Keys, consent.CategoryKey{Category: cat, Version: 1, EncKey: kp.Enc.PublicKey().Bytes()})
	}
	if len(body.Keys) == 0 {
		return 0, nil
	}
	_, err = c.Send(ctx, ks, body)
	return len(body.Keys), err
}

// NewRecord is a plaintext record to write.
type NewRecord struct {
	ID           string // empty: a fresh random id
	Version      uint32 // 0: next version (1 for a new record)
	Patient      string
	Category     string
	ResourceType string
	ContentType  string
	Plaintext    []byte
}

// PutRecord encrypts and writes a record as the author: a fresh data key seals the
// plaintext (bound to id, version, patient and category) and is wrapped for the patient's
// current category key and for the author. Nothing readable leaves this process.
func (c *Client) PutRecord(ctx context.Context, author *keys.Keystore, r NewRecord) (*records.Meta, error) {
	body, err := c.SealRecord(ctx, author, r)
	if err != nil {
		return nil, err
	}
	res, err := c.Send(ctx, author, body.Wire())
	if err != nil {
		return nil, err
	}
	m := body.Meta
	m.Height = res.Height
	return &m, nil
}

// SealRecord encrypts a record as the author and builds its write body (uploading a large
// ciphertext to the blob store), without submitting it.
func (c *Client) SealRecord(ctx context.Context, author *keys.Keystore, r NewRecord) (*records.PutBody, error) {
	switch {
	case r.ID == "":
		var b [12]byte
		rand.Read(b[:])
		r.ID, r.Version = "r-"+hex.EncodeToString(b[:]), 1
	case r.Version == 0:
		// An existing id is an amendment: learn the current version (an audited read).
		r.Version = 1
		if h, err := c.history(ctx, author, r.Patient, r.ID); err == nil && len(h) > 0 {
			r.Version = h[len(h)-1].Version + 1
		}
	}
	cks, err := c.CategoryKeys(ctx, r.Patient)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(cks, func(k consent.CategoryKey) bool { return k.Category == r.Category })
	if i < 0 {
		return nil, fmt.Errorf("patient %s has published no key for category %q", r.Patient, r.Category)
	}
	me, err := c.Identity(ctx, author.ID, false)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(me.Identity.EncKey, author.Keys.EncPublic()) {
		return nil, fmt.Errorf("keystore %s does not hold the identity's current keys (rotated elsewhere?)", author.Name)
	}
	body, ct, err := SealFor(author, me.Identity.KeyVersion, cks[i], r)
	if err != nil {
		return nil, err
	}
	if body.Meta.Blob {
		if err := c.PutBlob(ctx, author, ct); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// SealFor encrypts r for its patient's category key ck and for the author, without asking
// the node anything (bulk writers look the keys up once). When the ciphertext is too large
// to travel inline, the body is marked Blob and the caller uploads ct (PutBlob) before
// submitting.
func SealFor(author *keys.Keystore, authorKeyVersion uint32, ck consent.CategoryKey, r NewRecord) (*records.PutBody, []byte, error) {
	aad := envelope.AAD(r.ID, r.Version, r.Patient, r.Category)
	dk, ct, err := envelope.Seal(r.Plaintext, aad)
	if err != nil {
		return nil, nil, err
	}
	m := records.Meta{RecordID: r.ID, Version: r.Version, Patient: r.Patient, Category: r.Category,
		ResourceType: r.ResourceType, ContentType: r.ContentType, Digest: sha256.Sum256(ct), Size: uint64(len(ct)),
		CategoryVersion: ck.Version, AuthorKeyVersion: authorKeyVersion}
	if m.PatientWrap, err = envelope.WrapKey(ck.EncKey, dk, aad); err != nil {
		return nil, nil, err
	}
	if m.AuthorWrap, err = envelope.WrapKeyToSelf(author.Keys.Enc, dk, aad); err != nil {
		return nil, nil, err
	}
	body := &records.PutBody{Meta: m}
	if len(ct) > records.InlineMax {
		body.Meta.Blob = true
	} else {
		body.Ciphertext = ct
	}
	return body, ct, nil
}

// PutBlob uploads a ciphertext too large to travel inline, signed as who (the record's
// author): the node takes uploads only from identities that may write records.
func (c *Client) PutBlob(ctx context.Context, who *keys.Keystore, ct []byte) error {
	chainID, err := c.chainID(ctx)
	if err != nil {
		return err
	}
	d := sha256.Sum256(ct)
	h := http.Header{}
	blobs.SignUpload(h, chainID, who.ID, who.Keys.Sign, d, int64(len(ct)), time.Now())
	if err := c.doHeader(ctx, "PUT", "/v1/blobs/"+hex.EncodeToString(d[:]), h, rawBody(ct), nil); err != nil {
		return fmt.Errorf("upload blob: %w", err)
	}
	return nil
}

// ReadResult is a decrypted record with the ledger's decision about the access.
type ReadResult struct {
	Outcome   records.Outcome
	Meta      *records.Meta
	History   []*records.Meta
	Plaintext []byte
}

// NewReadRequest signs a read request valid for five minutes.
func (c *Client) NewReadRequest(ctx context.Context, who *keys.Keystore, patient, record, purpose string) (*records.ReadRequest, error) {
	chainID, err := c.chainID(ctx)
	if err != nil {
		return nil, err
	}
	q := &records.ReadRequest{ChainID: chainID, Requester: who.ID, Patient: patient, Record: record,
		Purpose: purpose, NotAfter: time.Now().Add(5 * time.Minute).Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(who.Keys.Sign)
	return q, nil
}

// ErrDenied is returned (wrapped) when the ledger denied an access; the denial is on the
// ledger too.
var ErrDenied = errors.New("access denied")

// SubmitRead sends a signed read request and returns the raw answer.
func (c *Client) SubmitRead(ctx context.Context, q *records.ReadRequest) (*wire.ReadResponse, error) {
	var resp wire.ReadResponse
	err := c.do(ctx, "POST", "/v1/read", wire.ReadRequestBody{Request: base64.StdEncoding.EncodeToString(q.Encode())}, &resp)
	if err != nil {
		return nil, err
	}
	return &resp, nil
}

func (c *Client) read(ctx context.Context, who *keys.Keystore, patient, record, purpose string) (*wire.ReadResponse, error) {
	q, err := c.NewReadRequest(ctx, who, patient, record, purpose)
	if err != nil {
		return nil, err
	}
	resp, err := c.SubmitRead(ctx, q)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Status == http.StatusForbidden && ce.Codespace == string(consent.Space) {
			return nil, fmt.Errorf("%w: %s", ErrDenied, ce.Message)
		}
		return nil, err
	}
	return resp, nil
}

// ReadRecord asks the ledger for a record for a purpose and decrypts it with who's keys.
func (c *Client) ReadRecord(ctx context.Context, who *keys.Keystore, patient, record, purpose string) (*ReadResult, error) {
	resp, err := c.read(ctx, who, patient, record, purpose)
	if err != nil {
		return nil, err
	}
	if !resp.Outcome.Allowed {
		return &ReadResult{Outcome: resp.Outcome}, fmt.Errorf("%w: %s", ErrDenied, resp.Outcome.Reason)
	}
	pt, err := Decrypt(who, resp.Record, resp.Ciphertext, resp.Share)
	if err != nil {
		return &ReadResult{Outcome: resp.Outcome, Meta: resp.Record}, err
	}
	return &ReadResult{Outcome: resp.Outcome, Meta: resp.Record, History: resp.History, Plaintext: pt}, nil
}

// ListRecords lists the metadata of the patient's records who may read for purpose.
func (c *Client) ListRecords(ctx context.Context, who *keys.Keystore, patient, purpose string) ([]*records.Meta, error) {
	resp, err := c.read(ctx, who, patient, "", purpose)
	if err != nil {
		return nil, err
	}
	if !resp.Outcome.Allowed {
		return nil, fmt.Errorf("%w: %s", ErrDenied, resp.Outcome.Reason)
	}
	return resp.Records, nil
}

func (c *Client) history(ctx context.Context, who *keys.Keystore, patient, record string) ([]*records.Meta, error) {
	resp, err := c.read(ctx, who, patient, record, consent.Treatment)
	if err != nil {
		return nil, err
	}
	return resp.History, nil
}

// History returns every version of a record (an audited read).
func (c *Client) History(ctx context.Context, who *keys.Keystore, patient, record, purpose string) ([]*records.Meta, error) {
	resp, err := c.read(ctx, who, patient, record, purpose)
	if err != nil {
		return nil, err
	}
	return resp.History, nil
}

// ErrCannotDecrypt means the reader holds no key that opens this record.
var ErrCannotDecrypt = errors.New("no key in this keystore can open the record")

// Decrypt opens a record ciphertext with whichever of who's keys applies: the author's
// identity key, the patient's category key, or a category key shared by a grant.
func Decrypt(who *keys.Keystore, m *records.Meta, ct []byte, share *consent.KeyShare) ([]byte, error) {
	if sha256.Sum256(ct) != m.Digest {
		return nil, fmt.Errorf("ciphertext does not match the digest on the ledger: %w", envelope.ErrTampered)
	}
	aad := envelope.AAD(m.RecordID, m.Version, m.Patient, m.Category)
	var dk []byte
	var err error
	switch {
	case who.ID == m.Author:
		kp := keyVersion(who, m.AuthorKeyVersion)
		if kp == nil {
			return nil, fmt.Errorf("%w: author key version %d is not in the keystore", ErrCannotDecrypt, m.AuthorKeyVersion)
		}
		if len(m.AuthorWrap) == envelope.SelfWrappedKeySize {
			dk, err = envelope.UnwrapKeyFromSelf(kp.Enc, m.AuthorWrap, aad)
		} else {
			dk, err = envelope.UnwrapKey(kp.Enc, m.AuthorWrap, aad) // written before the self wrap
		}
	case who.ID == m.Patient:
		priv, ok := who.CategoryKey(m.Category, m.CategoryVersion)
		if !ok {
			return nil, fmt.Errorf("%w: category %q key version %d is not in the keystore", ErrCannotDecrypt, m.Category, m.CategoryVersion)
		}
		return DecryptWithCategoryKey(priv, m, ct)
	default:
		if share == nil {
			return nil, fmt.Errorf("%w: no share of category %q version %d was granted to you", ErrCannotDecrypt, m.Category, m.CategoryVersion)
		}
		priv, uerr := OpenShare(who, m.Patient, share)
		if uerr != nil {
			return nil, uerr
		}
		return DecryptWithCategoryKey(priv, m, ct)
	}
	if err != nil {
		return nil, err
	}
	return envelope.Open(dk, ct, aad)
}

// DecryptWithCategoryKey opens a record with the category key of its version, already
// unwrapped: a reader of many records of one patient opens the key share once (OpenShare)
// and keeps it for the session instead of paying an HPKE unwrap per record for it.
func DecryptWithCategoryKey(priv hpke.PrivateKey, m *records.Meta, ct []byte) ([]byte, error) {
	if sha256.Sum256(ct) != m.Digest {
		return nil, fmt.Errorf("ciphertext does not match the digest on the ledger: %w", envelope.ErrTampered)
	}
	aad := envelope.AAD(m.RecordID, m.Version, m.Patient, m.Category)
	dk, err := envelope.UnwrapKey(priv, m.PatientWrap, aad)
	if err != nil {
		return nil, err
	}
	return envelope.Open(dk, ct, aad)
}

func keyVersion(ks *keys.Keystore, v uint32) *keys.KeyPair {
	switch {
	case v == 0:
		return nil
	case int(v) <= len(ks.Previous):
		return ks.Previous[v-1]
	case int(v) == len(ks.Previous)+1:
		return ks.Keys
	}
	return nil
}

// shareAAD binds a wrapped category key to its patient, category, version and recipient.
func shareAAD(patient string, s consent.KeyShare) []byte {
	return envelope.AAD("category-key:"+s.Category, s.Version, patient, s.Recipient)
}

// OpenShare unwraps a category key shared with who.
func OpenShare(who *keys.Keystore, patient string, s *consent.KeyShare) (hpke.PrivateKey, error) {
	aad := shareAAD(patient, *s)
	for _, kp := range append([]*keys.KeyPair{who.Keys}, who.Previous...) {
		if seed, err := envelope.UnwrapKey(kp.Enc, s.Wrapped, aad); err == nil {
			return keys.ParseEncPrivate(seed)
		}
	}
	return nil, fmt.Errorf("%w: the shared category key does not open with your keys", ErrCannotDecrypt)
}

// MakeShare wraps the patient's key of a category version for a recipient (what a read
// grant carries).
func MakeShare(patient *keys.Keystore, category string, version uint32, recipient *identity.Identity) (consent.KeyShare, error) {
	priv, ok := patient.CategoryKey(category, version)
	if !ok {
		return consent.KeyShare{}, fmt.Errorf("your keystore lacks category %q key version %d", category, version)
	}
	seed, err := priv.Bytes()
	if err != nil {
		return consent.KeyShare{}, err
	}
	s := consent.KeyShare{Category: category, Version: version, Recipient: recipient.ID}
	s.Wrapped, err = envelope.WrapKey(recipient.EncKey, seed, shareAAD(patient.ID, s))
	return s, err
}

// Grant issues a grant from the patient, wrapping the current key of every covered category
// for the grantee (or every provider of the organization) when it permits reading.
func (c *Client) Grant(ctx context.Context, patient *keys.Keystore, g consent.Grant) (string, error) {
	g.Patient = patient.ID
	cks, err := c.CategoryKeys(ctx, patient.ID)
	if err != nil {
		return "", err
	}
	if slices.Contains(g.Actions, consent.Read) && !consent.ClaimsOnly(g.Scope) {
		var recipients []*identity.Identity
		if g.Grantee != "" {
			r, err := c.Identity(ctx, g.Grantee, false)
			if err != nil {
				return "", err
			}
			recipients = append(recipients, r.Identity)
		} else {
			all, err := c.As(patient).Identities(ctx, string(identity.Provider))
			if err != nil {
				return "", err
			}
			for _, p := range all {
				if p.Organization == g.Organization && p.Active {
					recipients = append(recipients, p)
				}
			}
		}
		for _, k := range cks {
			if len(g.Scope.Categories) > 0 && !slices.Contains(g.Scope.Categories, k.Category) {
				continue
			}
			for _, rc := range recipients {
				s, err := MakeShare(patient, k.Category, k.Version, rc)
				if err != nil {
					return "", err
				}
				g.KeyShares = append(g.KeyShares, s)
			}
		}
	}
	res, err := c.Send(ctx, patient, &consent.GrantBody{Grant: g})
	if err != nil {
		return "", err
	}
	return consent.GrantID(res.Hash), nil
}

// Revoke revokes a grant, rotating every category key it shared and handing the new keys to
// the grantees of the patient's other active grants on those categories. The keystore gains
// the new keys: save it afterwards.
func (c *Client) Revoke(ctx context.Context, patient *keys.Keystore, grantID string) error {
	grants, err := c.As(patient).Grants(ctx, patient.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(grants, func(g *consent.Grant) bool { return g.ID == grantID })
	if i < 0 {
		return fmt.Errorf("you have no grant %s", grantID)
	}
	cks, err := c.CategoryKeys(ctx, patient.ID)
	if err != nil {
		return err
	}
	body := &consent.RevokeBody{GrantID: grantID}
	for _, s := range grants[i].KeyShares {
		if slices.ContainsFunc(body.Rotations, func(k consent.CategoryKey) bool { return k.Category == s.Category }) {
			continue
		}
		j := slices.IndexFunc(cks, func(k consent.CategoryKey) bool { return k.Category == s.Category })
		kp, err := keys.Generate()
		if err != nil {
			return err
		}
		nv := cks[j].Version + 1
		patient.AddCategoryKey(s.Category, nv, kp.Enc)
		body.Rotations = append(body.Rotations, consent.CategoryKey{Category: s.Category, Version: nv, EncKey: kp.Enc.PublicKey().Bytes()})
		for _, other := range grants {
			if other.ID == grantID || other.RevokedAt != 0 || !slices.ContainsFunc(other.KeyShares, func(x consent.KeyShare) bool { return x.Category == s.Category }) {
				continue
			}
			seen := map[string]bool{}
			for _, x := range other.KeyShares {
				if x.Category != s.Category || seen[x.Recipient] {
					continue
				}
				seen[x.Recipient] = true
				r, err := c.Identity(ctx, x.Recipient, false)
				if err != nil {
					return err
				}
				share, err := MakeShare(patient, s.Category, nv, r.Identity)
				if err != nil {
					return err
				}
				body.Reshares = append(body.Reshares, consent.Reshare{GrantID: other.ID, Share: share})
			}
		}
	}
	_, err = c.Send(ctx, patient, body)
	return err
}

type rawBody []byte

// RecordLocation asks whose record id is, signed as who (a provider, an auditor, the
// registrar or its patient): no content, and no audit event (the read itself is one).
func (c *Client) RecordLocation(ctx context.Context, who *keys.Keystore, id string) (*wire.RecordLocation, error) {
	var loc wire.RecordLocation
	return &loc, c.As(who).do(ctx, "GET", "/v1/records/"+url.PathEscape(id), nil, &loc)
}
