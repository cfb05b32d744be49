package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestSupplyDocumentsConformToSchema: each kind of document the workload captures is an
// EPCIS 2.0 document GS1's schema accepts, of EventsPerDoc events with distinct Event
// Hash IDs.
func TestSupplyDocumentsConformToSchema(t *testing.T) {
	schema, err := os.ReadFile(nodetest.SharedData(t, "epcis-2.0/schema/EPCIS-JSON-Schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := epcis.NewValidator(schema)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := captureSample("bench-1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, raw := range sample {
		env, terr := tx.Decode(raw)
		if terr != nil {
			t.Fatal(terr)
		}
		b, err := supply.DecodeCapture(env.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(b.Document); err != nil {
			t.Errorf("%s document: %v\n%s", supplyKinds[i], err, b.Document)
		}
		evs, err := epcis.HashCapture(b.Document)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != EventsPerDoc {
			t.Errorf("%s document has %d events, want %d", supplyKinds[i], len(evs), EventsPerDoc)
		}
		for _, ev := range evs {
			h := ev.HashID
			if seen[h] {
				t.Errorf("%s document repeats event %s", supplyKinds[i], h)
			}
			seen[h] = true
		}
	}
}

// TestSupplyWorkload runs the capture workload and its padded baseline on a real node:
// every document commits, no custody step is refused (the workload checks the ledger for
// suspect-product events), and the report gives events per second and CPU per event,
// with the ratio to the no-op of the same size. It asserts nothing about speed.
func TestSupplyWorkload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	const txs = 40
	rep, err := Run(ctx, Options{Workloads: []string{BaselineCapture, Supply}, Txs: txs, Actors: 8,
		Concurrency: 4, Window: 50, BlockMS: 50}, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	base, s := rep.Results[0], rep.Results[1]
	for _, r := range rep.Results {
		if r.Committed != txs || r.Rejected != 0 {
			t.Errorf("%s: committed %d of %d, rejected %d (%s)", r.Workload, r.Committed, txs, r.Rejected, r.FirstRejection)
		}
	}
	if s.EventsPerTx != EventsPerDoc || s.EventsPerSec != s.TxPerSec*EventsPerDoc || s.CPUPerEventUS != s.CPUPerTxUS/EventsPerDoc || s.CPUPerEventUS <= 0 {
		t.Errorf("events per tx %d, events/s %v (tx/s %v), CPU µs per event %v (per tx %v)",
			s.EventsPerTx, s.EventsPerSec, s.TxPerSec, s.CPUPerEventUS, s.CPUPerTxUS)
	}
	if base.EventsPerTx != 0 {
		t.Errorf("the no-op baseline reports %d events a transaction", base.EventsPerTx)
	}
	if d := s.MeanTxBytes - base.MeanTxBytes; d < -8 || d > 8 || base.MeanTxBytes < 2000 {
		t.Errorf("%s is %d bytes a transaction, %s %d", BaselineCapture, base.MeanTxBytes, Supply, s.MeanTxBytes)
	}
	if s.SameSizeRatio == nil || *s.SameSizeRatio != s.TxPerSec/base.TxPerSec || s.SameSizeCPU == nil || *s.SameSizeCPU <= 0 {
		t.Errorf("ratio to %s %v, CPU ratio %v", BaselineCapture, s.SameSizeRatio, s.SameSizeCPU)
	}
	got := map[string]int{}
	for _, p := range s.Parts {
		got[p.Kind] = p.Committed
	}
	for _, k := range supplyKinds {
		if got[k] != txs/len(supplyKinds) {
			t.Errorf("parts %v: want %d documents of each kind", got, txs/len(supplyKinds))
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"supply: ", "EPCIS events/s", "supply against baseline-capture (same bytes)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}
