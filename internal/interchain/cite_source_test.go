package interchain_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// proven is one value of the source chain's state with its proof.
type proven struct {
	key, value []byte
	proof      *interchain.StateProof
}

// source is what relayers take from a real single-node ehrchain network that serves as
// both the home shard of a provider and the supply chain of a pack: its light blocks, and
// proofs of its state before (h1) and after (h2) the registrar deactivated the provider.
type source struct {
	chainID            string
	blocks             map[int64]*types.LightBlock
	h1, h2             int64
	provider           *keys.Keystore
	providerAt1        proven // active, at h1
	providerAt2        proven // deactivated, at h2
	patientAt1         proven // the provider's patient: not a provider
	dispense           proven // the pharmacy's dispensing of item1, at h1
	commission         proven // the manufacturer's commissioning of item1 and item2, at h1
	absent             proven // an event digest the chain never stored, at h1 (value nil)
	dispenseDigest     string
	commissionDigest   string
	absentDigest       string
	item1, item2       string
	dispenseCapturedBy string
}

var (
	sourceOnce sync.Once
	sourceRun  *source
)

// realSource starts the source network once for the package's tests.
func realSource(t *testing.T) *source {
	t.Helper()
	sourceOnce.Do(func() { sourceRun = runSource(t) })
	if sourceRun == nil {
		t.Fatal("the source chain did not start (see the first test that used it)")
	}
	return sourceRun
}

const (
	acmeGLN     = "4012345000009"
	pharmacyGLN = "0712345000002"
)

func epcisDoc(events ...string) []byte {
	var list []string
	for i, e := range events {
		list = append(list, fmt.Sprintf(`{%s,"eventTime":"2026-11-02T08:%02d:00Z","eventTimeZoneOffset":"+00:00"}`, e, i))
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-11-02T08:00:00Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`)
}

func runSource(t *testing.T) *source {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	if err := n.Server.ConfigureEPCIS(nodetest.SharedData(t, "epcis-2.0/schema/EPCIS-JSON-Schema.json")); err != nil {
		t.Fatal(err)
	}
	c := n.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	s := &source{chainID: n.Node.ChainID(), provider: cast.Provider,
		item1: "urn:epc:id:sgtin:4012345.012345.1001", item2: "urn:epc:id:sgtin:4012345.012345.1002"}
	send := func(what string, ks *keys.Keystore, body tx.Body) string {
		r, err := c.Send(ctx, ks, body)
		if err != nil || r.Code != 0 {
			t.Fatalf("%s on the source chain: %v %s", what, err, r.Log)
		}
		return r.Hash
	}
	acme, pharmacy := newKS(t, "acme"), newKS(t, "corner-pharmacy")
	send("register acme", reg, client.RegistrationFor(s.chainID, acme, identity.Manufacturer, "Acme", "Acme Pharma", ""))
	send("register the pharmacy", reg, client.RegistrationFor(s.chainID, pharmacy, identity.Dispenser, "Corner", "Corner Pharmacy", ""))
	send("bind acme", reg, &supply.BindBody{Partner: acme.ID, Prefixes: []string{"4012345"}, GLNs: []string{acmeGLN}})
	send("bind the pharmacy", reg, &supply.BindBody{Partner: pharmacy.ID, GLNs: []string{pharmacyGLN}})
	hashOf := func(txHash string) string {
		capt := supply.GetCapture(n.Node.View(), txHash)
		if capt == nil || len(capt.Events) != 1 {
			t.Fatalf("capture %s: %+v", txHash, capt)
		}
		return supply.Digest(capt.Events[0].HashID)
	}
	s.commissionDigest = hashOf(send("commission", acme, &supply.CaptureBody{Document: epcisDoc(
		`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":["` + s.item1 + `","` + s.item2 +
			`"]`)}))
	s.dispenseDigest = hashOf(send("dispense", pharmacy, &supply.CaptureBody{Document: epcisDoc(
		`"type":"ObjectEvent","action":"OBSERVE","bizStep":"https://ref.gs1.org/cbv/BizStep-dispensing","epcList":["` + s.item1 + `"]`)}))
	s.dispenseCapturedBy = pharmacy.ID
	s.absentDigest = strings.Repeat("ab", 32)

	v := n.Node.View()
	s.h1 = v.Height()
	prove := func(v *state.View, key []byte) proven {
		p, err := v.Prove(key)
		if err != nil {
			t.Fatal(err)
		}
		return proven{key: key, value: v.Get(key), proof: (*interchain.StateProof)(p)}
	}
	s.providerAt1 = prove(v, identity.Key(cast.Provider.ID))
	s.patientAt1 = prove(v, identity.Key(cast.Patient.ID))
	s.dispense = prove(v, supply.EventKey(s.dispenseDigest))
	s.commission = prove(v, supply.EventKey(s.commissionDigest))
	s.absent = prove(v, supply.EventKey(s.absentDigest))
	if s.absent.value != nil || s.dispense.value == nil {
		t.Fatal("the source chain's state is not as set up")
	}

	send("deactivate the provider", reg, &identity.Deactivate{ID: cast.Provider.ID, Reason: "licence lapsed"})
	v = n.Node.View()
	s.h2 = v.Height()
	s.providerAt2 = prove(v, identity.Key(cast.Provider.ID))
	for n.Node.Height() < s.h2+2 {
		select {
		case <-ctx.Done():
			t.Fatal("the source node made no more blocks")
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.Stop()
	s.blocks = lightBlocks(t, home, 1, s.h1+1, s.h2+1)
	return s
}
