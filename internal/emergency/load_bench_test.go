package emergency_test

import (
	"context"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/bench"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// BenchmarkUrgentWriteUnderLoad saturates a real node with routine record writes and,
// while the backlog lasts, submits pairs of probes at the same moment: an urgent write under
// an emergency declaration and a routine write. It reports, per kind, the submit-to-commit
// latency and how many blocks were committed between submission and the probe's block.
//
// Blocks are capped at 1 MiB (about 250 writes; the default 64 MiB block holds more than
// this machine admits in a block interval, so blocks never fill), which makes the offered
// load several times what the chain commits: the mempool offers each proposal only its
// oldest transactions.
//
//	go test -run XXX -bench UrgentWriteUnderLoad -benchtime 1x ./internal/emergency/
func BenchmarkUrgentWriteUnderLoad(b *testing.B) {
	const (
		writers  = 16
		routine  = 32_000 // ~4.1 KB each
		probes   = 12
		maxBlock = 1 << 20
	)
	for range b.N {
		home, reg := nodetest.Init(b)
		gpath := node.Paths{Home: home}.Genesis()
		g, err := cmttypes.GenesisDocFromFile(gpath)
		if err != nil {
			b.Fatal(err)
		}
		g.ConsensusParams.Block.MaxBytes = maxBlock
		if err := g.SaveAs(gpath); err != nil {
			b.Fatal(err)
		}
		n := nodetest.Start(b, home)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		c, chainID := n.Client, n.Node.ChainID()
		sign := func(ks *keys.Keystore, seq uint64, body tx.Body) []byte {
			s, _ := tx.ParseSigner(ks.ID)
			return tx.Sign(ks.Keys.Sign, s, chainID, seq, body).Encode()
		}
		must := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		// The emergency cast: two custodian institutions, a physician, a patient who escrowed.
		er, pat, c1, c2 := ks(b, "er"), ks(b, "pat"), ks(b, "c1"), ks(b, "c2")
		for _, r := range []*identity.Register{
			client.RegistrationFor(chainID, er, identity.Provider, "ER", "County General", "MD"),
			client.RegistrationFor(chainID, c1, identity.Provider, "Escrow 1", "St Mary", "E1"),
			client.RegistrationFor(chainID, c2, identity.Provider, "Escrow 2", "City Clinic", "E2"),
		} {
			_, err := c.Send(ctx, reg, r)
			must(err)
		}
		_, err = c.Send(ctx, er, client.RegistrationFor(chainID, pat, identity.Patient, "Pat", "", ""))
		must(err)
		must(c.EnrolCustodian(ctx, reg, c1.ID, "St Mary"))
		must(c.EnrolCustodian(ctx, reg, c2.ID, "City Clinic"))
		_, err = c.PublishCategories(ctx, pat, []string{"general"})
		must(err)
		must(c.Escrow(ctx, pat, []string{"general"}, 2, nil))
		_, err = c.Declare(ctx, er, emergency.DeclareBody{Patient: pat.ID, Reason: "load test"})
		must(err)

		// Routine writers, each with the patient it registered, and one more per routine probe.
		total := writers + probes
		provs, pats, cats := make([]*keys.Keystore, total), make([]*keys.Keystore, total), make([][]byte, total)
		regSeq := app.NextSequence(n.Node.View(), reg.ID)
		var round1, round2, round3 [][]byte
		for i := range provs {
			provs[i], pats[i] = ks(b, "w"), ks(b, "wp")
			kp, err := keys.Generate()
			must(err)
			cats[i] = kp.EncPublic()
			round1 = append(round1, sign(reg, regSeq+uint64(i), client.RegistrationFor(chainID, provs[i], identity.Provider, "W", "Busy", "B")))
			round2 = append(round2, sign(provs[i], 0, client.RegistrationFor(chainID, pats[i], identity.Patient, "P", "", "")))
			round3 = append(round3, sign(pats[i], 0, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cats[i]}}}))
		}
		for _, round := range [][][]byte{round1, round2, round3} {
			for i, raw := range round {
				r, err := n.Node.Broadcast(ctx, raw, i == len(round)-1)
				if err != nil || r.Code != 0 {
					b.Fatalf("setup: %v %+v", err, r)
				}
			}
		}
		streams := make([][][]byte, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for s := range routine / writers {
					body, err := bench.EncryptedObservation(provs[w], pats[w].ID, cats[w])
					must(err)
					streams[w] = append(streams[w], sign(provs[w], uint64(1+s), body))
				}
			})
		}
		var urgent, slow [][]byte
		erCat, err := c.CategoryKeys(ctx, pat.ID)
		must(err)
		erSeq := app.NextSequence(n.Node.View(), er.ID)
		for i := range probes {
			body, err := bench.EncryptedObservation(er, pat.ID, erCat[0].EncKey)
			must(err)
			urgent = append(urgent, sign(er, erSeq+uint64(i), &emergency.UrgentPutBody{PutBody: *body}))
			body, err = bench.EncryptedObservation(provs[writers+i], pats[writers+i].ID, cats[writers+i])
			must(err)
			slow = append(slow, sign(provs[writers+i], 1, body))
		}
		wg.Wait()

		b.ResetTimer()
		start := time.Now()
		var submitted sync.WaitGroup
		var admitted atomic.Int64
		for w := range writers {
			submitted.Go(func() {
				for _, raw := range streams[w] {
					if _, err := n.Node.Broadcast(ctx, raw, false); err != nil {
						b.Errorf("routine write refused: %v", err)
						return
					}
					admitted.Add(1)
				}
			})
		}
		// backlog is how many admitted routine writes are not committed yet.
		backlog := func() int64 {
			v, done := n.Node.View(), int64(0)
			for _, p := range provs[:writers] {
				done += int64(app.NextSequence(v, p.ID)) - 1
			}
			return admitted.Load() - done
		}
		// Probe once the backlog is many blocks deep (a 1 MiB block holds ~250 writes).
		for backlog() < 3_000 {
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("no backlog built up (backlog %d)", backlog())
			}
			time.Sleep(20 * time.Millisecond)
		}
		type obs struct {
			lat      time.Duration // submission to commit
			blocks   int64         // blocks committed after submission, the probe's included
			admitted int64         // of which after CheckTx admitted it
		}
		var uo, ro []obs
		var mu sync.Mutex
		var routineProbes sync.WaitGroup
		probe := func(raw []byte, out *[]obs, what string) {
			h0, t0 := n.Node.View().Height(), time.Now()
			if _, err := n.Node.Broadcast(ctx, raw, false); err != nil {
				b.Errorf("%s probe: %v", what, err)
				return
			}
			hA := n.Node.View().Height()
			h := tx.Hash(raw)
			for {
				r, err := n.Node.LookupTx(ctx, h[:])
				if err == nil {
					if r.Code != 0 {
						b.Errorf("%s probe rejected: %+v", what, r)
						return
					}
					mu.Lock()
					*out = append(*out, obs{time.Since(t0), r.Height - h0, r.Height - hA})
					mu.Unlock()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// One probe pair a second while the backlog lasts. The routine probes come from
		// their own signers and run side by side; the urgent ones share the physician's
		// sequence, so each is submitted after the previous one committed.
		for i := range probes {
			bl := backlog()
			if bl < 1_000 {
				b.Logf("backlog down to %d before probe %d", bl, i)
				break
			}
			fmt.Printf("probe %d at backlog %d\n", i, bl)
			tick := time.Now()
			routineProbes.Go(func() { probe(slow[i], &ro, "routine") })
			probe(urgent[i], &uo, "urgent")
			time.Sleep(time.Second - time.Since(tick))
		}
		routineProbes.Wait()
		submitted.Wait()
		b.StopTimer()
		report := func(name string, os []obs) {
			slices.SortFunc(os, func(a, b obs) int { return int(a.lat - b.lat) })
			if len(os) == 0 {
				return
			}
			maxBlocks, maxAdmitted := int64(0), int64(0)
			for _, o := range os {
				maxBlocks, maxAdmitted = max(maxBlocks, o.blocks), max(maxAdmitted, o.admitted)
				fmt.Printf("%s probe: %d ms, block +%d after submission, +%d after admission\n", name, o.lat.Milliseconds(), o.blocks, o.admitted)
			}
			b.ReportMetric(float64(os[len(os)/2].lat.Milliseconds()), name+"-p50-ms")
			b.ReportMetric(float64(os[len(os)-1].lat.Milliseconds()), name+"-max-ms")
			b.ReportMetric(float64(maxBlocks), name+"-max-blocks")
			b.ReportMetric(float64(maxAdmitted), name+"-max-blocks-after-admission")
		}
		report("urgent", uo)
		report("routine", ro)
		fmt.Printf("%d routine writes submitted in %s; committed height %d\n", routine, time.Since(start).Round(time.Millisecond), n.Node.View().Height())
	}
}

func ks(b *testing.B, name string) *keys.Keystore {
	k, err := keys.NewKeystore(name)
	if err != nil {
		b.Fatal(err)
	}
	return k
}
