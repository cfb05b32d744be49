package interchain_test

import (
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
// validator-set size, adjacent and skipping. It reports the bytes of the update
// transaction body that carries the header.
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
				size := updateBytes(b, lb)
				for b.Loop() {
					// Decode as a node does from the transaction: a fresh validator set each time.
					lb2, err := interchain.ParseLightBlock(encodeLB(b, lb))
					if err != nil {
						b.Fatal(err)
					}
					if err := c.Verify(cs, trustedLB.ValidatorSet, lb2, now); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(size), "body-bytes")
			})
		}
	}
}

func updateBytes(b *testing.B, lb *types.LightBlock) int {
	w := tx.NewWriter(0)
	(&interchain.UpdateBody{ClientID: clientID, TrustedHeight: 1, LightBlock: encodeLB(b, lb)}).Encode(w)
	return len(w.Bytes())
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
		for b.Loop() {
			if err := interchain.VerifyState(r, clientID, p, []byte(key), []byte(kv[key])); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(p.Map)), "proof-bytes")
	})
	// The ICS-23 check alone, without reading the client and its consensus state.
	b.Run("state-ics23-only", func(b *testing.B) {
		for b.Loop() {
			if err := stateproof.Verify(cp.hash[1], p.MapRoot, p.LogRoot, p.LogSize, p.Map, []byte(key), []byte(kv[key])); err != nil {
				b.Fatal(err)
			}
		}
	})
	ep0, err := cp.views[1].EventProof(4242)
	if err != nil {
		b.Fatal(err)
	}
	ep := (*interchain.EventProof)(ep0)
	b.Run("event", func(b *testing.B) {
		for b.Loop() {
			if _, err := interchain.VerifyEvent(r, clientID, ep); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(32*len(ep.Path)+len(ep.Leaf)), "proof-bytes")
	})
}
