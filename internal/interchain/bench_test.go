package interchain_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/interchaintest"
	"github.com/ehrchain/ehrchain/internal/stateproof"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// BenchmarkVerifyHeader is the light client's decision on one relayed header (CometBFT's
// light verification, all signatures of the counterparty's validators present), by
// validator-set size, adjacent and skipping. It reports the bytes of the signed update
// transaction that carries the header.
func BenchmarkVerifyHeader(b *testing.B) {
	for _, n := range []int{1, 4, 25, 100} {
		set := interchaintest.NewSet("bench", n, 10)
		trustedLB := interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: 1, Time: t0, AppHash: []byte("s0"), Vals: set})
		c := &interchain.Client{ID: clientID, ChainID: chainB, TrustNumerator: 1, TrustDenominator: 3,
			TrustingPeriod: period, MaxClockDrift: interchain.DefaultMaxClockDrift, LatestHeight: 1}
		h := trustedLB.Header
		cs := &interchain.Consensus{Height: 1, Time: h.Time, HeaderHash: h.Hash(), AppHash: h.AppHash,
			ValidatorsHash: h.ValidatorsHash, NextValsHash: h.NextValidatorsHash}
		for _, kind := range []struct {
			name   string
			height int64
		}{{"adjacent", 2}, {"skipping", 100}} {
			lb := interchaintest.Sign(interchaintest.Header{ChainID: chainB, Height: kind.height,
				Time: t0.Add(time.Duration(kind.height) * time.Second), AppHash: []byte("s"), Vals: set})
			now := t0.Add(time.Hour)
			b.Run(fmt.Sprintf("%s/validators=%d", kind.name, n), func(b *testing.B) {
				if err := c.Verify(cs, trustedLB.ValidatorSet, lb, now); err != nil {
					b.Fatal(err)
				}
				size, raw := updateBytes(b, lb), encodeLB(b, lb)
				cpu := startCPU()
				for b.Loop() {
					// Decode as a node does from the transaction: a fresh validator set each time.
					lb2, err := interchain.ParseLightBlock(raw)
					if err != nil {
						b.Fatal(err)
					}
					if err := c.Verify(cs, trustedLB.ValidatorSet, lb2, now); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
				b.ReportMetric(float64(size), "tx-bytes")
			})
		}
	}
}

// updateBytes is the size of the whole signed update transaction, envelope included.
func updateBytes(b *testing.B, lb *types.LightBlock) int {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	body := &interchain.UpdateBody{ClientID: clientID, TrustedHeight: 1, LightBlock: encodeLB(b, lb)}
	return len(tx.Sign(key, [tx.SignerLen]byte{}, ourChain, 7, body).Encode())
}

// BenchmarkVerifyProof checks one cross-chain proof against a verified header: a key of a
// counterparty state map of 10,000 keys, and an event of a log of 10,000 events.
func BenchmarkVerifyProof(b *testing.B) {
	cp := newCounterparty(b)
	kv := map[string]string{}
	events := make([]*audit.Event, 10000)
	for i := range 10000 {
		kv[fmt.Sprintf("id/%08d", i)] = fmt.Sprintf(`{"id":"%08d","role":"provider"}`, i)
		events[i] = &audit.Event{Height: 1, Action: audit.PartnerBind, Outcome: audit.Success, Actor: "registrar", Subject: fmt.Sprint(i)}
	}
	cp.commit(b, 1, kv, events...)
	o := withClient(b)
	hd := header(2)
	hd.AppHash = cp.hash[1]
	if err := o.update(1, sign(hd)); err != nil {
		b.Fatal(err)
	}
	r := o.st.Committed()
	key := "id/00004242"
	p0, err := cp.views[1].Prove([]byte(key))
	if err != nil {
		b.Fatal(err)
	}
	p := (*interchain.StateProof)(p0)
	b.Run("state", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			if err := interchain.VerifyState(r, clientID, p, []byte(key), []byte(kv[key])); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(len(p.Map)), "proof-bytes")
	})
	// The ICS-23 check alone, without reading the client and its consensus state.
	b.Run("state-ics23-only", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			if err := stateproof.Verify(cp.hash[1], p.MapRoot, p.LogRoot, p.LogSize, p.Map, []byte(key), []byte(kv[key])); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	ep0, err := cp.views[1].EventProof(4242)
	if err != nil {
		b.Fatal(err)
	}
	ep := (*interchain.EventProof)(ep0)
	b.Run("event", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			if _, err := interchain.VerifyEvent(r, clientID, ep); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(32*len(ep.Path)+len(ep.Leaf)), "proof-bytes")
	})
}

// cpuClock measures the CPU time of a benchmark loop.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	d, ok := cpuTime()
	return cpuClock{d, ok}
}

// report adds the CPU µs per operation (the process's, so the GC is counted).
func (c cpuClock) report(b *testing.B) {
	end, ok := cpuTime()
	if c.ok && ok && b.N > 0 {
		b.ReportMetric(float64(end-c.start)/float64(b.N)/1e3, "cpu-µs/op")
	}
}
