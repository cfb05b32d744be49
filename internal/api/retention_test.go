package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// TestRetentionEndpoints: the periods in force are public; the due list names records and
// patients, so it is answered only to a signed query by the registrar or an auditor.
func TestRetentionEndpoints(t *testing.T) {
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	if _, err := c.SetRetention(ctx, cast.Provider, "general", 30, "not theirs to set"); err == nil {
		t.Fatal("a provider set a retention period")
	}
	if _, err := c.SetRetention(ctx, reg, "general", 3650, "ten years after the last entry"); err != nil {
		t.Fatal(err)
	}
	ps, err := c.RetentionPolicies(ctx)
	if err != nil || len(ps.Policies) != 1 || ps.Policies[0].Category != "general" || ps.Policies[0].Days != 3650 {
		t.Fatalf("policies %+v, %v", ps, err)
	}

	refused := func(what string, err error, status int, code uint32) {
		t.Helper()
		e, ok := err.(*client.Error)
		if !ok || e.Status != status || e.Code != code {
			t.Fatalf("%s: got %v, want HTTP %d code %d", what, err, status, code)
		}
	}
	_, err = c.RetentionDue(ctx, "", 10)
	refused("anonymous due list", err, http.StatusUnauthorized, identity.CodeUnsigned)
	_, err = c.As(cast.Provider).RetentionDue(ctx, "", 10)
	refused("a provider's due list", err, http.StatusForbidden, identity.CodeNotEntitled)
	_, err = c.As(cast.Patient).RetentionDue(ctx, "", 10)
	refused("a patient's due list", err, http.StatusForbidden, identity.CodeNotEntitled)
	_, err = c.As(reg).RetentionDue(ctx, "", 0)
	refused("a zero limit", err, http.StatusBadRequest, api.CodeBadRequest)
	for _, who := range []string{"registrar", "auditor"} {
		ks := reg
		if who == "auditor" {
			ks = cast.Auditor
		}
		d, err := c.As(ks).RetentionDue(ctx, "", 10)
		if err != nil || len(d.Due) != 0 || d.At.IsZero() {
			t.Fatalf("%s's due list on a new chain: %+v, %v", who, d, err)
		}
	}
	expired, held, err := c.ApplyRetention(ctx, reg, nil)
	if err != nil || len(expired) != 0 || len(held) != 0 {
		t.Fatalf("apply with nothing due: %v %v %v", expired, held, err)
	}
	if _, err := c.Send(ctx, reg, &erasure.ExpireBody{Records: []string{"r-none"}}); err == nil {
		t.Fatal("an expiry of a record that does not exist went through")
	}
}
