package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/shard"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Router sends each patient-scoped call to the patient's home shard of a network (the
// directory function of internal/shard), so a caller names the patient, never the chain.
type Router struct {
	Net *shard.Network
	// New makes the client of one node; nil is New. The CLI uses it for --insecure.
	New func(base string) *Client

	mu      sync.Mutex
	clients map[string]*Client // chain name -> a node that answered with the chain's id
}

// NewRouter routes over the chains of n.
func NewRouter(n *shard.Network) *Router { return &Router{Net: n} }

// ErrWrongShard is returned (wrapped) when a patient-scoped call would reach a chain that
// is not the patient's home shard.
var ErrWrongShard = errors.New("not the patient's home shard")

// Chain is a client of the named chain: its first node that answers and reports the chain
// id the description gives. The choice is kept until Forget.
func (r *Router) Chain(ctx context.Context, name string) (*Client, error) {
	r.mu.Lock()
	c := r.clients[name]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	ch, ok := r.Net.Chain(name)
	if !ok {
		return nil, fmt.Errorf("network %s has no chain %q", r.Net.Name, name)
	}
	mk := r.New
	if mk == nil {
		mk = New
	}
	var errs []error
	for _, u := range ch.API {
		c := mk(u)
		st, err := c.Status(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.ChainID != ch.ChainID {
			errs = append(errs, fmt.Errorf("%s serves chain %s, but the network description says %s is chain %s", u, st.ChainID, name, ch.ChainID))
			continue
		}
		c.ChainID = st.ChainID
		r.mu.Lock()
		if r.clients == nil {
			r.clients = map[string]*Client{}
		}
		r.clients[name] = c
		r.mu.Unlock()
		return c, nil
	}
	return nil, fmt.Errorf("no node of chain %s answers: %w", name, errors.Join(errs...))
}

// Forget drops the node chosen for a chain, so the next call picks again (after that node
// stopped answering).
func (r *Router) Forget(name string) {
	r.mu.Lock()
	delete(r.clients, name)
	r.mu.Unlock()
}

// Home is a client of patient's home shard, and that shard.
func (r *Router) Home(ctx context.Context, patient string) (*Client, shard.Chain, error) {
	ch, err := r.Net.Home(patient)
	if err != nil {
		return nil, shard.Chain{}, err
	}
	c, err := r.Chain(ctx, ch.Name)
	return c, ch, err
}

// CheckHome refuses a client whose chain is not patient's home shard: what a caller that
// was pointed at one node (the CLI's --node) checks before a patient-scoped call.
func (r *Router) CheckHome(ctx context.Context, c *Client, patient string) error {
	ch, err := r.Net.Home(patient)
	if err != nil {
		return err
	}
	id, err := c.chainID(ctx)
	if err != nil {
		return err
	}
	if id != ch.ChainID {
		return fmt.Errorf("%w: patient %s lives on shard %s (chain %s), and %s serves chain %s", ErrWrongShard, patient, ch.Name, ch.ChainID, c.Base, id)
	}
	return nil
}

// RegisterPatient registers ks as a patient on their home shard, signed by signer (a
// provider registered there, or ks itself where the chain lets patients register
// themselves), and publishes the default category keys, which ks gains: save it after. It
// answers the shard it registered on.
func (r *Router) RegisterPatient(ctx context.Context, signer, ks *keys.Keystore) (shard.Chain, error) {
	c, ch, err := r.Home(ctx, ks.ID)
	if err != nil {
		return ch, err
	}
	if _, err := c.Send(ctx, signer, RegistrationFor(ch.ChainID, ks, identity.Patient, "", "", "")); err != nil {
		return ch, fmt.Errorf("register on shard %s: %w", ch.Name, err)
	}
	if _, err := c.PublishCategories(ctx, ks, consent.DefaultCategories); err != nil {
		return ch, fmt.Errorf("registered on shard %s, but publishing the category keys failed: %w", ch.Name, err)
	}
	return ch, nil
}

// PutRecord writes a record on the patient's home shard.
func (r *Router) PutRecord(ctx context.Context, author *keys.Keystore, rec NewRecord) (*records.Meta, error) {
	c, _, err := r.Home(ctx, rec.Patient)
	if err != nil {
		return nil, err
	}
	return c.PutRecord(ctx, author, rec)
}

// ReadRecord reads a record from the patient's home shard.
func (r *Router) ReadRecord(ctx context.Context, who *keys.Keystore, patient, record, purpose string) (*ReadResult, error) {
	c, _, err := r.Home(ctx, patient)
	if err != nil {
		return nil, err
	}
	return c.ReadRecord(ctx, who, patient, record, purpose)
}

// ListRecords lists a patient's records on their home shard.
func (r *Router) ListRecords(ctx context.Context, who *keys.Keystore, patient, purpose string) ([]*records.Meta, error) {
	c, _, err := r.Home(ctx, patient)
	if err != nil {
		return nil, err
	}
	return c.ListRecords(ctx, who, patient, purpose)
}

// Grant issues the patient's grant on their home shard.
func (r *Router) Grant(ctx context.Context, patient *keys.Keystore, g consent.Grant) (string, error) {
	c, _, err := r.Home(ctx, patient.ID)
	if err != nil {
		return "", err
	}
	return c.Grant(ctx, patient, g)
}

// Revoke revokes the patient's grant on their home shard.
func (r *Router) Revoke(ctx context.Context, patient *keys.Keystore, grantID string) error {
	c, _, err := r.Home(ctx, patient.ID)
	if err != nil {
		return err
	}
	return c.Revoke(ctx, patient, grantID)
}

// AuditQuery asks the home shard of f.Patient for one page of audit events; a query that
// names no patient has no home and is refused (ask each chain with Chain).
func (r *Router) AuditQuery(ctx context.Context, who *keys.Keystore, f audit.Filter) (*wire.AuditQueryResponse, error) {
	if f.Patient == "" {
		return nil, errors.New("an audit query without a patient has no home shard: ask each chain of the network")
	}
	c, _, err := r.Home(ctx, f.Patient)
	if err != nil {
		return nil, err
	}
	return c.AuditQuery(ctx, who, f)
}
