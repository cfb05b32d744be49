package fhir

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/shard"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Shards is the network of EHR shards a gateway is one of (HOME/config/network.json). With
// it, a request about a patient whose home is another shard is served from that shard: the
// gateway signs the caller's audited reads and writes for the home shard's node, where the
// consent decision and its audit event happen, and decrypts what it releases, as it does
// for its own patients. The caller must be known there (a provider of this shard is
// recognised on the others by tx 104).
type Shards struct {
	Net    *shard.Network
	Here   string // this node's shard
	Router *client.Router
}

// NewShards places a gateway of chain chainID in network n.
func NewShards(n *shard.Network, chainID string) (*Shards, error) {
	for _, c := range n.Shards {
		if c.ChainID == chainID {
			return &Shards{Net: n, Here: c.Name, Router: client.NewRouter(n)}, nil
		}
	}
	return nil, fmt.Errorf("network %s has no shard of chain %s: this node's gateway cannot route by patient", n.Name, chainID)
}

// away is the client of patient's home shard when that is another shard, nil when it is
// this one (or the gateway knows no network, or patient is no identity id: then it is
// simply not found here).
func (g *Gateway) away(ctx context.Context, patient string) (*client.Client, error) {
	if g.Shards == nil || patient == "" {
		return nil, nil
	}
	home, err := g.Shards.Net.Home(patient)
	if err != nil || home.Name == g.Shards.Here {
		return nil, nil
	}
	c, err := g.Shards.Router.Chain(ctx, home.Name)
	if err != nil {
		return nil, fail(http.StatusServiceUnavailable, "transient", "patient %s lives on shard %s, which does not answer: %v", patient, home.Name, err)
	}
	return c, nil
}

// unreachable is the error to answer for a failed call to patient's home shard. A
// failure in transport drops the node chosen for the shard, so the next request tries its
// other nodes, and answers 503; the shard's own answers (a denial, a refusal) pass as they are.
func (g *Gateway) unreachable(patient string, err error) error {
	var ce *client.Error
	if err == nil || errors.As(err, &ce) || errors.Is(err, client.ErrDenied) || errors.Is(err, client.ErrCannotDecrypt) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	home, herr := g.Shards.Net.Home(patient)
	if herr != nil {
		return err
	}
	g.Shards.Router.Forget(home.Name)
	return fail(http.StatusServiceUnavailable, "transient", "patient %s lives on shard %s, which does not answer: %v", patient, home.Name, err)
}

// locateAway finds a record this shard does not hold on the other shards: a signed,
// unaudited question to each (GET /v1/records/{id}), answered only where the record is
// and its patient lives.
func (g *Gateway) locateAway(ctx context.Context, s *session, id string) (*client.Client, *wire.RecordLocation, error) {
	for _, ch := range g.Shards.Net.Shards {
		if ch.Name == g.Shards.Here {
			continue
		}
		c, err := g.Shards.Router.Chain(ctx, ch.Name)
		if err != nil {
			continue // a stopped shard: its records are not found until it is back
		}
		loc, err := c.RecordLocation(ctx, s.ks, id)
		var ce *client.Error
		switch {
		case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
			continue
		case ce != nil:
			return nil, nil, err // there, but not for this caller (403), or refused
		case err != nil:
			g.Shards.Router.Forget(ch.Name) // its records are not found until it answers
			continue
		}
		if home, err := g.Shards.Net.Home(loc.Patient); err != nil || home.Name != ch.Name {
			continue // not the patient's home: not the record's either
		}
		return c, loc, nil
	}
	return nil, nil, nil
}

// readAway answers GET Type/id for a resource this shard does not hold, from its
// patient's home shard (a Patient's id is its patient's). handled is false when no other
// shard holds it either.
func (g *Gateway) readAway(ctx context.Context, s *session, rt, id, pur string) (m *records.Meta, o Object, handled bool, err error) {
	if g.Shards == nil {
		return nil, nil, false, nil
	}
	var c *client.Client
	patient := id
	if rt == "Patient" {
		if c, err = g.away(ctx, id); c == nil || err != nil {
			return nil, nil, err != nil, err
		}
	} else {
		var loc *wire.RecordLocation
		if c, loc, err = g.locateAway(ctx, s, id); c == nil || err != nil {
			return nil, nil, err != nil, err
		}
		switch {
		case loc.ResourceType != rt || (!loc.Erased && loc.ContentType != ContentType):
			return nil, nil, true, fail(http.StatusNotFound, "not-found", "%s/%s is not on the ledger", rt, id)
		case loc.Erased:
			return nil, nil, true, fail(http.StatusGone, "deleted", "%s/%s was erased by its patient; only its digest and audit trail remain", rt, id)
		}
		patient = loc.Patient
	}
	res, err := c.ReadRecord(ctx, s.ks, patient, id, pur)
	if err != nil {
		return nil, nil, true, g.unreachable(patient, err)
	}
	if res.Meta.ResourceType != rt || res.Meta.ContentType != ContentType {
		return nil, nil, true, fail(http.StatusNotFound, "not-found", "%s/%s is not on the ledger", rt, id)
	}
	o, err = asResource(res.Meta, res.Plaintext)
	return res.Meta, o, true, err
}

// historyElsewhere refuses the versions of a record of another shard: its earlier
// ciphertexts are in that shard's state, which an audited read there does not release.
func historyElsewhere(rt, id string) error {
	return fail(http.StatusNotImplemented, "not-supported", "%s/%s belongs to a patient of another shard: read its history at the patient's home shard", rt, id)
}

// acrossShards refuses what a search of a patient of another shard cannot do: what needs
// the patient's other records beside a hit (chains, _has, _include) is not followed there.
func acrossShards(q *query) error {
	if len(q.chains) > 0 || len(q.links) > 0 || len(q.has) > 0 || len(q.inc) > 0 || len(q.rev) > 0 {
		return fail(http.StatusBadRequest, "not-supported", "patient %s lives on another shard: chained parameters, _has, _include and _revinclude are not followed across shards; search with plain parameters, or at the patient's home shard", q.patient)
	}
	return nil
}

// candidatesAway is candidates for a patient of another shard: the home shard's audited
// list of the records the caller may read (the decision this node cannot make without the
// patient's grants), kept to the types, ids and update times asked for.
func (g *Gateway) candidatesAway(ctx context.Context, s *session, c *client.Client, typ func(string) bool, pur string, q *query) ([]*records.Meta, error) {
	ms, err := c.ListRecords(ctx, s.ks, q.patient, pur)
	if err != nil {
		return nil, g.unreachable(q.patient, err)
	}
	return slices.DeleteFunc(ms, func(m *records.Meta) bool {
		return !typ(m.ResourceType) || m.ContentType != ContentType || (len(q.ids) > 0 && !slices.Contains(q.ids, m.RecordID)) || !updatedMatch(q.updated, m)
	}), nil
}

// checkPatientAway is checkPatient for a patient of another shard: registered there.
func (g *Gateway) checkPatientAway(ctx context.Context, c *client.Client, id string) (string, error) {
	who, err := c.Identity(ctx, id, false)
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
		return "", fail(http.StatusUnprocessableEntity, "business-rule", "Patient/%s is not a registered patient identity of its home shard", id)
	case err != nil:
		return "", g.unreachable(id, err)
	case who.Identity.Role != identity.Patient:
		return "", fail(http.StatusUnprocessableEntity, "business-rule", "Patient/%s is not a registered patient identity", id)
	}
	return id, nil
}

// writeAway is write for a patient of another shard: each entry sealed for the patient's
// category key published there and submitted there, in the caller's name.
func (g *Gateway) writeAway(ctx context.Context, s *session, c *client.Client, patient string, es []*Entry) ([]*records.Meta, error) {
	defer g.lockWriter(s.ks.ID)()
	out := make([]*records.Meta, len(es))
	for i, e := range es {
		var head *records.Meta
		loc, err := c.RecordLocation(ctx, s.ks, e.ID)
		var ce *client.Error
		switch {
		case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
			loc = &wire.RecordLocation{}
		case err != nil:
			return nil, g.unreachable(patient, err)
		case loc.Patient != patient || loc.ResourceType != e.Type || loc.Erased:
			return nil, fail(http.StatusConflict, "conflict", "id %s is already used by another record", e.ID)
		default:
			head = &records.Meta{Category: loc.Category, Version: loc.Version}
		}
		if err := checkIfMatch(e.IfMatch, e.Type, e.ID, loc.Version); err != nil {
			return nil, err
		}
		e.Category = g.category(e.Resource, head).Category
		pt, err := Stored(e.Resource, e.ID)
		if err != nil {
			return nil, err
		}
		m, err := c.PutRecord(ctx, s.ks, client.NewRecord{ID: e.ID, Version: loc.Version + 1, Patient: patient,
			Category: e.Category, ResourceType: e.Type, ContentType: ContentType, Plaintext: pt})
		if err != nil {
			return nil, g.unreachable(patient, err)
		}
		if now, err := c.RecordLocation(ctx, s.ks, e.ID); err == nil && now.Version == m.Version {
			m.Time = now.Time // the block's time, which the written body does not carry
		}
		out[i] = m
	}
	return out, nil
}
