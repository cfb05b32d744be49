package portal_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/portal"
)

// pass is every test identity's keystore passphrase.
const pass = "correct horse battery staple"

// clock is the portal's clock in tests: TOTP steps and session expiry move only when the
// test says so. The node keeps real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running node serving the portal, with a cast whose keystores are in the node's
// keys directory (where the portal unlocks them).
type env struct {
	home    string
	node    *nodetest.Running
	portal  *portal.Portal
	clock   *clock
	base    string // http://localhost:PORT (passkeys need a host name, not an IP)
	cl      *client.Client
	ids     map[string]*keys.Keystore // by keystore name
	cfg     portal.Config
	mounted *swap
	reg     *keys.Keystore // the registrar
}

const idle = 10 * time.Minute

func startEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, reg := nodetest.Init(t)
	r := nodetest.Start(t, home)
	e := &env{home: home, node: r, clock: &clock{t: time.Now()}, cl: r.Client, ids: map[string]*keys.Keystore{}, reg: reg}
	_, port, _ := net.SplitHostPort(r.Client.Base[len("http://"):])
	e.base = "http://localhost:" + port
	chainID, err := r.Client.ChainIDOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := keys.Dir{Path: node.Paths{Home: home}.Keys()}
	save := func(ks *keys.Keystore) {
		b, err := keys.Encrypt(ks, []byte(pass), keys.TestKDF)
		if err != nil {
			t.Fatal(err)
		}
		if err := dir.Replace(ks.Name, b); err != nil {
			if err := dir.Save(ks.Name, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range []string{"dr-alice", "dr-bob", "pat", "auditor"} {
		ks, err := keys.NewKeystore(n)
		if err != nil {
			t.Fatal(err)
		}
		e.ids[n] = ks
	}
	for _, s := range []struct {
		signer *keys.Keystore
		body   *identity.Register
	}{
		{reg, client.RegistrationFor(chainID, e.ids["dr-alice"], identity.Provider, "Dr Alice", "St Mary Hospital", "MD-1")},
		{reg, client.RegistrationFor(chainID, e.ids["dr-bob"], identity.Provider, "Dr Bob", "City Clinic", "MD-2")},
		{reg, client.RegistrationFor(chainID, e.ids["auditor"], identity.Auditor, "Compliance Office", "", "")},
		{e.ids["dr-alice"], client.RegistrationFor(chainID, e.ids["pat"], identity.Patient, "Norbert Ferry", "", "")},
	} {
		if _, err := r.Client.Send(ctx, s.signer, s.body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Client.PublishCategories(ctx, e.ids["pat"], consent.DefaultCategories); err != nil {
		t.Fatal(err)
	}
	for _, ks := range e.ids {
		save(ks)
	}
	e.cfg = portal.Config{Home: home, API: r.Server, Now: e.clock.Now, KDF: keys.TestKDF, IdleTimeout: idle, Logf: t.Logf}
	e.startPortal(t)
	return e
}

// startPortal (re)starts the portal on the running node, as a node restart would.
func (e *env) startPortal(t testing.TB) {
	t.Helper()
	p, err := portal.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.portal = p
	t.Cleanup(func() { p.Close() })
	if e.mounted == nil {
		e.mounted = &swap{}
		e.node.Server.Handle(portal.Prefix, e.mounted)
	}
	e.mounted.p.Store(p)
}

// swap lets a test replace the portal on a server whose routes cannot be unregistered.
type swap struct{ p atomic.Pointer[portal.Portal] }

func (s *swap) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.p.Load().ServeHTTP(w, r) }

// synthea writes, as Dr Alice (who registered the patient), a real Synthea patient's most
// recent encounters with their vital signs and lab values, through the client's encrypting
// write path. It returns the number of records written.
func (e *env) synthea(t testing.TB, encounters int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "synthea-r4", "Norbert_Ferry_96d25cc2-0f74-40cf-99c2-c064e14cb23d.json"))
	if err != nil {
		t.Fatalf("Synthea data (../shared/data): %v", err)
	}
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	type res struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Encounter    *struct {
			Reference string `json:"reference"`
		} `json:"encounter"`
		Code *struct {
			Coding []struct{ Code string } `json:"coding"`
		} `json:"code"`
		Period *struct{ Start string } `json:"period"`
	}
	wanted := []string{"55284-4", "39156-5", "2339-0", "29463-7"} // blood pressure, BMI, glucose, weight
	encs := map[string]json.RawMessage{}
	start := map[string]string{}
	obs := map[string][]json.RawMessage{}
	for _, en := range bundle.Entry {
		var r res
		json.Unmarshal(en.Resource, &r)
		switch {
		case r.ResourceType == "Encounter":
			encs[r.ID] = en.Resource
			if r.Period != nil {
				start[r.ID] = r.Period.Start
			}
		case r.ResourceType == "Observation" && r.Encounter != nil && r.Code != nil && len(r.Code.Coding) > 0 && slices.Contains(wanted, r.Code.Coding[0].Code):
			id := r.Encounter.Reference[len("urn:uuid:"):]
			obs[id] = append(obs[id], en.Resource)
		}
	}
	var ids []string
	for id, o := range obs {
		if len(o) == len(wanted) && encs[id] != nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return start[ids[i]] > start[ids[j]] })
	if len(ids) < encounters {
		t.Fatalf("only %d encounters with vital signs and labs", len(ids))
	}
	n := 0
	put := func(rtype string, raw json.RawMessage) {
		if _, err := e.cl.PutRecord(ctx, e.ids["dr-alice"], client.NewRecord{Patient: e.ids["pat"].ID, Category: "general",
			ResourceType: rtype, ContentType: "application/fhir+json", Plaintext: raw}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for _, id := range ids[:encounters] {
		put("Encounter", encs[id])
		for _, o := range obs[id] {
			put("Observation", o)
		}
	}
	return n
}
