package testnet

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// The history BenchmarkJoin builds: what a chain holding N records looks like after months
// of use, not N records loaded in a few big blocks. Per record written, a provider reads
// three earlier records of the node's patients (audited reads, carried as the node carries
// them, in read batches of one to three requests: at a hospital's read rate a 5 ms batch
// window seldom holds more), and per histGrantEvery records a patient grants a provider
// access and revokes it two rounds later. Each node sends one round of about
// histRoundTxs transactions per block, so blocks hold about 2 × histRoundTxs; every
// histQuietEvery rounds the load pauses for histQuiet, and the chain makes its idle blocks.
const (
	histPerPatient  = 250
	histReadsPer    = 3
	histGrantEvery  = 10
	histRoundTxs    = 75
	histQuietEvery  = 300
	histQuiet       = 3 * time.Second
	histReadMaxSize = 3
)

// historyStats counts what a loaded history holds.
type historyStats struct {
	writes, reads, readBatches, grants, revokes int
}

func (s *historyStats) add(o historyStats) {
	s.writes += o.writes
	s.reads += o.reads
	s.readBatches += o.readBatches
	s.grants += o.grants
	s.revokes += o.revokes
}

func (s historyStats) txs() int { return s.writes + s.readBatches + s.grants + s.revokes }

// histNode is what one node's sender knows: its provider and its patients.
type histNode struct {
	k     int
	prov  *keys.Keystore
	ident *identity.Identity
	pats  []*loadPatient
}

type histRecord struct {
	p  *loadPatient
	id string
}

// loadHistory builds the history above with n records and returns the last height holding
// any of it, and its counts. The chain must have budgets off and open registration.
func loadHistory(tb testing.TB, ctx context.Context, nw *network, n int) (int64, historyStats) {
	tb.Helper()
	nodes := make([]*histNode, 2)
	for k := range nodes {
		prov, err := keys.NewKeystore("prov")
		if err != nil {
			tb.Fatal(err)
		}
		c := nw.client(0) // the registrar's sequence, as one node sees it
		reg := client.RegistrationFor(nw.m.ChainID, prov, identity.Provider, fmt.Sprintf("Dr %d", k), fmt.Sprintf("Hospital %d", k), fmt.Sprintf("MD-%d", k))
		if _, err := c.Send(ctx, nw.reg, reg); err != nil {
			tb.Fatal(err)
		}
		r, err := c.Identity(ctx, prov.ID, false)
		if err != nil {
			tb.Fatal(err)
		}
		nodes[k] = &histNode{k: k, prov: prov, ident: r.Identity}
	}
	np := (n + histPerPatient - 1) / histPerPatient
	pats := newLoadPatients(tb, ctx, nw, np)
	var wg sync.WaitGroup
	for _, p := range pats {
		nodes[p.node].pats = append(nodes[p.node].pats, p)
	}
	var total historyStats
	var mu sync.Mutex
	for _, hn := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			share := n / 2
			if hn.k == 0 {
				share = n - n/2
			}
			st, err := sendHistory(ctx, nw, hn, share)
			if err != nil {
				tb.Error(err)
			}
			mu.Lock()
			total.add(st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	// Everything sent is admitted; wait until both mempools are empty, then check that every
	// patient's last transaction (its sequence chain's end) committed and succeeded.
	waitFor(tb, 10*time.Minute, "the mempools to drain", func() bool {
		for k := range 2 {
			u, err := nw.rpc(k).NumUnconfirmedTxs(ctx)
			if err != nil || u.Total > 0 {
				return false
			}
		}
		return true
	})
	var last int64
	for _, p := range pats {
		var res wire.Result
		waitFor(tb, time.Minute, "patient "+p.ks.ID+"'s last transaction to commit", func() bool {
			r, err := nw.client(p.node).Tx(ctx, p.last)
			res = r
			return err == nil && r.Height > 0
		})
		if res.Code != 0 {
			tb.Fatalf("patient %s's last transaction was rejected: %s/%d %s", p.ks.ID, res.Codespace, res.Code, res.Log)
		}
		last = max(last, res.Height)
	}
	h0, _ := nw.height(0)
	return max(last, h0), total
}

// sendHistory sends node hn's share of the history through its API, a round per block.
func sendHistory(ctx context.Context, nw *network, hn *histNode, n int) (historyStats, error) {
	var st historyStats
	c := nw.client(hn.k)
	rng := mrand.New(mrand.NewPCG(uint64(hn.k), 1))
	body := make([]byte, 1024)
	type pendingRevoke struct {
		p     *loadPatient
		grant string
		round int
	}
	var written []histRecord // committed two rounds ago or earlier: readable
	var fresh [2][]histRecord
	var revokes []pendingRevoke
	var batch [][]byte
	var owners []*loadPatient // nil: a read batch
	var grantsAt []int        // indices in batch of this round's grants, with their patients
	var grantPats []*loadPatient
	sign := func(p *loadPatient, b tx.Body) {
		s, _ := tx.ParseSigner(p.ks.ID)
		batch = append(batch, tx.Sign(p.ks.Keys.Sign, s, nw.m.ChainID, p.seq, b).Encode())
		owners = append(owners, p)
		p.seq++
	}
	submit := func(round int) error {
		for len(batch) > 0 {
			resp, err := c.SubmitBatch(ctx, batch)
			if err != nil {
				return err
			}
			for j, r := range resp.Results {
				if r.Code != 0 {
					return fmt.Errorf("node %d refused a transaction: %s/%d %s", hn.k, r.Codespace, r.Code, r.Log)
				}
				if owners[j] != nil {
					owners[j].last = r.Hash
				}
			}
			for g, at := range grantsAt {
				if at < len(resp.Results) && at >= 0 {
					revokes = append(revokes, pendingRevoke{grantPats[g], consent.GrantID(resp.Results[at].Hash), round})
					grantsAt[g] = -1
				}
			}
			for g := range grantsAt {
				if grantsAt[g] >= 0 {
					grantsAt[g] -= len(resp.Results)
				}
			}
			if e := resp.Error; e != nil && (e.Codespace != string(wire.Space) || e.Code != wire.CodeUnavailable) {
				return fmt.Errorf("node %d stopped admitting transactions: %v", hn.k, e)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			batch, owners = batch[len(resp.Results):], owners[len(resp.Results):]
			if len(batch) > 0 {
				time.Sleep(100 * time.Millisecond) // the mempool was full: retry from there
			}
		}
		grantsAt, grantPats = grantsAt[:0], grantPats[:0]
		return nil
	}
	var reads []*records.ReadRequest
	readSize := 1
	flushReads := func(all bool) {
		for len(reads) >= readSize || (all && len(reads) > 0) {
			k := min(readSize, len(reads))
			rb := &records.ReadBatch{Requests: reads[:k]}
			w := tx.NewWriter(k * 240)
			rb.Encode(w)
			env := &tx.Envelope{ChainID: nw.m.ChainID, BodyType: rb.Type(), Body: w.Bytes(), Signature: make([]byte, 64)}
			batch = append(batch, env.Encode())
			owners = append(owners, nil)
			reads = reads[k:]
			st.readBatches++
			readSize = readSize%histReadMaxSize + 1
		}
	}
	i, round := 0, 0
	for i < n {
		start, _ := nw.height(hn.k)
		for len(batch) < histRoundTxs && i < n {
			p := hn.pats[i%len(hn.pats)]
			copy(body, fmt.Sprintf("observation %d/%d", hn.k, i))
			id := fmt.Sprintf("r-hist-%d-%08d", hn.k, i)
			rb, _, err := client.SealFor(p.ks, 1, p.ck, client.NewRecord{ID: id, Version: 1, Patient: p.ks.ID, Category: "general",
				ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: body})
			if err != nil {
				return st, err
			}
			sign(p, rb)
			fresh[1] = append(fresh[1], histRecord{p, id})
			st.writes++
			if i < len(hn.pats) {
				// A patient's first record comes with the standing grant its provider reads by.
				share, err := client.MakeShare(p.ks, "general", 1, hn.ident)
				if err != nil {
					return st, err
				}
				sign(p, &consent.GrantBody{Grant: consent.Grant{Patient: p.ks.ID, Grantee: hn.prov.ID,
					Scope: consent.Scope{Categories: []string{"general"}}, Actions: []string{consent.Read},
					Purposes: []string{consent.Treatment}, KeyShares: []consent.KeyShare{share}}})
				st.grants++
			}
			for range histReadsPer {
				if len(written) == 0 {
					break
				}
				r := written[rng.IntN(len(written))]
				q := &records.ReadRequest{ChainID: nw.m.ChainID, Requester: hn.prov.ID, Patient: r.p.ks.ID, Record: r.id,
					Purpose: consent.Treatment, NotAfter: time.Now().Add(5 * time.Minute).Unix()}
				rand.Read(q.Nonce[:])
				q.Sign(hn.prov.Keys.Sign)
				reads = append(reads, q)
				st.reads++
			}
			flushReads(false)
			if i%histGrantEvery == histGrantEvery-1 {
				// A grant for another purpose that the patient takes back two rounds later:
				// write access for operations, no key to share.
				grantsAt, grantPats = append(grantsAt, len(batch)), append(grantPats, p)
				sign(p, &consent.GrantBody{Grant: consent.Grant{Patient: p.ks.ID, Grantee: hn.prov.ID,
					Scope: consent.Scope{Categories: []string{"general"}}, Actions: []string{consent.Write},
					Purposes: []string{consent.Operations}}})
				st.grants++
			}
			i++
		}
		for len(revokes) > 0 && revokes[0].round <= round-2 {
			r := revokes[0]
			revokes = revokes[1:]
			sign(r.p, &consent.RevokeBody{GrantID: r.grant})
			st.revokes++
		}
		if i == n {
			flushReads(true)
		}
		if err := submit(round); err != nil {
			return st, err
		}
		written = append(written, fresh[0]...)
		fresh[0], fresh[1] = fresh[1], nil
		round++
		if round%histQuietEvery == 0 {
			time.Sleep(histQuiet) // a quiet period: the chain makes its idle blocks
		}
		// One round per block: wait for the next block before the next round.
		for {
			h, _ := nw.height(hn.k)
			if h > start || ctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for len(revokes) > 0 {
		r := revokes[0]
		revokes = revokes[1:]
		sign(r.p, &consent.RevokeBody{GrantID: r.grant})
		st.revokes++
	}
	return st, submit(round)
}
