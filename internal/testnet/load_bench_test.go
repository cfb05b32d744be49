package testnet

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Bulk loading for the benchmarks. Writing through client.PutRecord costs three reads and a
// wait for commit per record, which makes a 10^5-record chain take over 20 minutes to
// build; here each patient's records are sealed and signed offline (keys and sequences
// known), and sent in batches through POST /v1/txs, with the mempool kept under a bound.
const (
	loadBatch       = 600
	loadOutstanding = 20_000 // per node
	loadPerPatient  = 1000
)

type loadPatient struct {
	ks   *keys.Keystore
	ck   consent.CategoryKey
	node int
	seq  uint64
	last string // hash of the patient's last record transaction
}

// loadRecords writes n records of about 1 KiB (patients of loadPerPatient records each,
// spread over nodes 0 and 1, each writing its own records) and returns the height of the
// last one to commit. The chain must have budgets off and open registration.
func loadRecords(tb testing.TB, ctx context.Context, nw *network, n int) int64 {
	tb.Helper()
	np := (n + loadPerPatient - 1) / loadPerPatient
	pats := newLoadPatients(tb, ctx, nw, np)
	var wg sync.WaitGroup
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendRecords(ctx, nw, k, pats, n); err != nil {
				tb.Error(err)
			}
		}()
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	var last int64
	for _, p := range pats {
		if p.last == "" {
			continue
		}
		var res wire.Result
		waitFor(tb, 10*time.Minute, "patient "+p.ks.ID+"'s last record to commit", func() bool {
			r, err := nw.client(p.node).Tx(ctx, p.last)
			res = r
			return err == nil && r.Height > 0
		})
		if res.Code != 0 {
			tb.Fatalf("patient %s's last record was rejected: %s/%d %s", p.ks.ID, res.Codespace, res.Code, res.Log)
		}
		last = max(last, res.Height)
	}
	return last
}

func newLoadPatient(ctx context.Context, nw *network, node int) (*loadPatient, error) {
	c := nw.client(node)
	ks, err := keys.NewKeystore("p")
	if err != nil {
		return nil, err
	}
	if _, err := c.Send(ctx, ks, client.RegistrationFor(nw.m.ChainID, ks, identity.Patient, "patient", "", "")); err != nil {
		return nil, err
	}
	if _, err := c.PublishCategories(ctx, ks, []string{"general"}); err != nil {
		return nil, err
	}
	cks, err := c.CategoryKeys(ctx, ks.ID)
	if err != nil || len(cks) != 1 {
		return nil, fmt.Errorf("category keys of %s: %v %v", ks.ID, cks, err)
	}
	seq, err := c.Sequence(ctx, ks.ID)
	if err != nil {
		return nil, err
	}
	return &loadPatient{ks: ks, ck: cks[0], node: node, seq: seq}, nil
}

// sendRecords sends, through node k, the records of the patients on node k: record i
// belongs to patient i mod len(pats).
func sendRecords(ctx context.Context, nw *network, k int, pats []*loadPatient, n int) error {
	c := nw.client(k)
	rpc := nw.rpc(k)
	body := make([]byte, 1024)
	var batch [][]byte
	var owners []*loadPatient
	flush := func() error {
		for len(batch) > 0 {
			for {
				u, err := rpc.NumUnconfirmedTxs(ctx)
				if err != nil {
					return fmt.Errorf("node %d mempool: %w", k, err)
				}
				if u.Total < loadOutstanding {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			resp, err := c.SubmitBatch(ctx, batch)
			if err != nil {
				return err
			}
			for j, r := range resp.Results {
				if r.Code != 0 {
					return fmt.Errorf("node %d refused a record: %s/%d %s", k, r.Codespace, r.Code, r.Log)
				}
				owners[j].last = r.Hash
			}
			if e := resp.Error; e != nil && (e.Codespace != string(wire.Space) || e.Code != wire.CodeUnavailable) {
				return fmt.Errorf("node %d stopped admitting records: %v", k, e)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			batch, owners = batch[len(resp.Results):], owners[len(resp.Results):]
			if len(batch) > 0 {
				time.Sleep(100 * time.Millisecond) // the mempool was full: retry from there
			}
		}
		return nil
	}
	for i := 0; i < n; i++ {
		p := pats[i%len(pats)]
		if p.node != k {
			continue
		}
		copy(body, fmt.Sprintf("observation %d", i))
		id := fmt.Sprintf("r-load-%08d", i)
		rb, _, err := client.SealFor(p.ks, 1, p.ck, client.NewRecord{ID: id, Version: 1, Patient: p.ks.ID, Category: "general",
			ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: body})
		if err != nil {
			return err
		}
		signer, _ := tx.ParseSigner(p.ks.ID)
		batch = append(batch, tx.Sign(p.ks.Keys.Sign, signer, nw.m.ChainID, p.seq, rb).Encode())
		owners = append(owners, p)
		p.seq++
		if len(batch) == loadBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// newLoadPatients registers np patients, alternately on nodes 0 and 1, sixteen at a time.
func newLoadPatients(tb testing.TB, ctx context.Context, nw *network, np int) []*loadPatient {
	tb.Helper()
	pats := make([]*loadPatient, np)
	var wg sync.WaitGroup
	errs := make(chan error, np)
	for i := range pats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := newLoadPatient(ctx, nw, i%2)
			pats[i] = p
			if err != nil {
				errs <- err
			}
		}()
		if i%16 == 15 {
			wg.Wait()
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	return pats
}
