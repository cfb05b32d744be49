// Package client is the Go client of the node's HTTP API, used by the CLI, the benchmarks
// and the tests. It signs transactions locally: private keys never leave the caller.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Client talks to one node.
type Client struct {
	Base    string // e.g. http://127.0.0.1:8080
	ChainID string // filled from the node's status on first use when empty
	HTTP    *http.Client
	signer  *keys.Keystore // signs GET queries (As)
}

// As is a client whose queries are signed by ks: listings of identities and a patient's
// grants are answered only to a signed query, and only with what ks's identity may see.
func (c *Client) As(ks *keys.Keystore) *Client {
	cp := *c
	cp.signer = ks
	return &cp
}

// New returns a client for the API at base.
func New(base string) *Client {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Insecure skips TLS certificate checks (for self-signed test certificates only).
func (c *Client) Insecure() *Client {
	c.HTTP.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return c
}

// Error is a non-2xx answer: the coded error the node returned.
type Error struct {
	Status int
	wire.TxError
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s/%d: %s", e.Codespace, e.Code, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doHeader(ctx, method, path, nil, in, out)
}

// doHeader is do with extra request headers (a signed blob upload's).
func (c *Client) doHeader(ctx context.Context, method, path string, hdr http.Header, in, out any) error {
	_, err := c.doResponse(ctx, method, path, hdr, in, out)
	return err
}

// doResponse is doHeader answering the response's headers too (a query's Link).
func (c *Client) doResponse(ctx context.Context, method, path string, hdr http.Header, in, out any) (http.Header, error) {
	var body io.Reader
	ctype := "application/json"
	switch v := in.(type) {
	case nil:
	case rawBody:
		body, ctype = bytes.NewReader(v), "application/octet-stream"
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.signer != nil && method == http.MethodGet {
		u := *c
		u.signer = nil
		chainID, err := u.chainID(ctx)
		if err != nil {
			return nil, err
		}
		c.ChainID = chainID
		identity.SignQuery(req.Header, chainID, c.signer.ID, c.signer.Keys.Sign, method, req.URL.RequestURI(), time.Now())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %w", c.Base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, &e.TxError) != nil || e.Codespace == "" {
			e.Codespace, e.Code, e.Message = string(wire.Space), wire.CodeInternal, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return resp.Header, e
	}
	if out == nil {
		return resp.Header, nil
	}
	return resp.Header, json.Unmarshal(b, out)
}

// Status of the node.
func (c *Client) Status(ctx context.Context) (*wire.Status, error) {
	var s wire.Status
	return &s, c.do(ctx, "GET", "/v1/status", nil, &s)
}

// Identity fetches one identity; prove asks for a Merkle proof.
func (c *Client) Identity(ctx context.Context, id string, prove bool) (*wire.IdentityResponse, error) {
	var r wire.IdentityResponse
	q := ""
	if prove {
		q = "?prove=1"
	}
	return &r, c.do(ctx, "GET", "/v1/identities/"+url.PathEscape(id)+q, nil, &r)
}

// Identities lists identities, optionally of one role.
func (c *Client) Identities(ctx context.Context, role string) ([]*identity.Identity, error) {
	var r struct {
		Identities []*identity.Identity `json:"identities"`
	}
	q := ""
	if role != "" {
		q = "?role=" + url.QueryEscape(role)
	}
	return r.Identities, c.do(ctx, "GET", "/v1/identities"+q, nil, &r)
}

// Submit sends a signed transaction. With wait, it returns once the block is committed. A
// rejection (in CheckTx or in the block) is returned as *Error.
func (c *Client) Submit(ctx context.Context, raw []byte, wait bool) (wire.Result, error) {
	var r wire.Result
	err := c.do(ctx, "POST", "/v1/tx", wire.SubmitRequest{Tx: base64.StdEncoding.EncodeToString(raw), Wait: wait}, &r)
	return r, err
}

// Tx looks up a committed transaction.
func (c *Client) Tx(ctx context.Context, hash string) (wire.Result, error) {
	var r wire.Result
	return r, c.do(ctx, "GET", "/v1/tx/"+url.PathEscape(hash), nil, &r)
}

func (c *Client) chainID(ctx context.Context) (string, error) {
	if c.ChainID == "" {
		s, err := c.Status(ctx)
		if err != nil {
			return "", err
		}
		c.ChainID = s.ChainID
	}
	return c.ChainID, nil
}

// Sequence is the next sequence the signer must use (0 for an unregistered identity).
func (c *Client) Sequence(ctx context.Context, id string) (uint64, error) {
	r, err := c.Identity(ctx, id, false)
	if e, ok := err.(*Error); ok && e.Status == http.StatusNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return r.NextSequence, nil
}

// Send signs body as ks's identity with its next sequence, submits it and waits for commit.
func (c *Client) Send(ctx context.Context, ks *keys.Keystore, body tx.Body) (wire.Result, error) {
	chainID, err := c.chainID(ctx)
	if err != nil {
		return wire.Result{}, err
	}
	signer, ok := tx.ParseSigner(ks.ID)
	if !ok {
		return wire.Result{}, fmt.Errorf("keystore %s has a malformed id %q", ks.Name, ks.ID)
	}
	seq, err := c.Sequence(ctx, ks.ID)
	if err != nil {
		return wire.Result{}, err
	}
	env := tx.Sign(ks.Keys.Sign, signer, chainID, seq, body)
	return c.Submit(ctx, env.Encode(), true)
}

// RegistrationFor builds the body that registers ks's identity with role and metadata,
// including the subject's proof of possession, so that another identity can submit it.
// A patient is pseudonymous on the ledger: name is dropped for the patient role (the
// display name stays client-side, as the keystore's name).
func RegistrationFor(chainID string, ks *keys.Keystore, role identity.Role, name, org, licence string) *identity.Register {
	if role == identity.Patient {
		name = ""
	}
	b := &identity.Register{Role: role, Name: name, Organization: org, Licence: licence,
		SignKey: ks.Keys.SignPublic(), EncKey: ks.Keys.EncPublic()}
	b.Proof = identity.SignPop(ks.Keys.Sign, chainID, "register", ks.ID, b.EncKey)
	return b
}

// ChainIDOf returns the chain id, asking the node once.
func (c *Client) ChainIDOf(ctx context.Context) (string, error) { return c.chainID(ctx) }
