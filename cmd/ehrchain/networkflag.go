package main

import (
	"context"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/shard"
)

// router is the --network router, or nil without --network.
func (g *globals) router() (*client.Router, error) {
	if g.network == "" {
		return nil, nil
	}
	n, err := shard.Load(g.network)
	if err != nil {
		return nil, err
	}
	r := client.NewRouter(n)
	if g.insecure {
		r.New = func(base string) *client.Client { return client.New(base).Insecure() }
	}
	return r, nil
}

// patientClient is the client of a patient-scoped command. Without --network it is the
// node of --node or --home; with --network it is the patient's home shard, and a --node
// given as well must serve that shard (a patient's data never goes to another shard).
func (g *globals) patientClient(ctx context.Context, patient string) (*client.Client, error) {
	r, err := g.router()
	if err != nil || r == nil {
		return g.client(), err
	}
	if g.nodeURL != "" {
		c := g.client()
		return c, r.CheckHome(ctx, c, patient)
	}
	c, _, err := r.Home(ctx, patient)
	return c, err
}

// registrationClient is where identity register sends a registration: a patient to their
// home shard under --network; any other role has no home shard, so --network is refused
// for it (register it on each shard it works on, with --node).
func (g *globals) registrationClient(ctx context.Context, role identity.Role, subject string) (*client.Client, error) {
	if g.network == "" {
		return g.client(), nil
	}
	if role != identity.Patient {
		return nil, fmt.Errorf("--network routes patients to their home shard; a %s has none: register it on each shard it works on with --node (and no --network)", role)
	}
	return g.patientClient(ctx, subject)
}
