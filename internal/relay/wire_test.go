package relay_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestWireMirrorsClientInfo: the client package reads a light client through wire's copy of
// interchain.ClientInfo; every field set on one survives a trip through the other, so a
// renamed or added field shows here.
func TestWireMirrorsClientInfo(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	in := interchain.ClientInfo{Height: 9,
		Client: &interchain.Client{ID: "b", ChainID: "chain-b", TrustNumerator: 1, TrustDenominator: 3, TrustingPeriod: time.Hour,
			MaxClockDrift: time.Second, LatestHeight: 7, CreatedAt: 2, CreatedBy: "reg", Frozen: true, FrozenAt: 8, FrozenHeight: 6},
		Latest: &interchain.Consensus{Height: 7, Time: at, HeaderHash: []byte{1}, AppHash: []byte{2}, ValidatorsHash: []byte{3},
			NextValsHash: []byte{4}, VerifiedAt: 5}}
	want, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var w wire.InterchainClient
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("wire.InterchainClient lacks a field of interchain.ClientInfo: %v", err)
	}
	got, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("through wire:\n%s\nwant\n%s", got, want)
	}

	res := interchain.CheckResult{Height: 1, ProvenAt: 2, HeaderBy: 3, AppHash: []byte{4}, VerifiedAt: 5}
	want, _ = json.Marshal(res)
	var wr wire.InterchainChecked
	dec = json.NewDecoder(bytes.NewReader(want))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wr); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(wr); !bytes.Equal(got, want) {
		t.Fatalf("check result through wire:\n%s\nwant\n%s", got, want)
	}
	// The check request: wire's state-proof form decodes as interchain's.
	q, _ := json.Marshal(wire.InterchainCheck{Key: []byte("k"), Value: []byte("v"), Proof: &wire.Proof{Height: 4, Map: []byte{1}, MapRoot: []byte{2}, LogRoot: []byte{3}, LogSize: 6, AppHash: []byte{7}}})
	var iq interchain.CheckRequest
	dec = json.NewDecoder(bytes.NewReader(q))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&iq); err != nil || iq.Proof == nil || iq.Proof.Height != 4 || iq.Proof.LogSize != 6 || string(iq.Value) != "v" {
		t.Fatalf("check request: %+v, %v", iq, err)
	}
}
