package app

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

func (h *harness) readReq(who *keys.Keystore, patient string, notAfter time.Time) *records.ReadRequest {
	q := &records.ReadRequest{ChainID: testChain, Requester: who.ID, Patient: patient, Record: "nope", Purpose: "treatment", NotAfter: notAfter.Unix()}
	rand.Read(q.Nonce[:])
	q.Sign(who.Keys.Sign)
	return q
}

func batchTx(qs ...*records.ReadRequest) []byte {
	w := tx.NewWriter(0)
	(&records.ReadBatch{Requests: qs}).Encode(w)
	return (&tx.Envelope{ChainID: testChain, BodyType: records.TypeReadBatch, Body: w.Bytes(), Signature: make([]byte, 64)}).Encode()
}

func TestReadRequestsAreRecordedOnceAndVoidOnesNot(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	blockTime := genesisTime.Add(time.Duration(h.height+1) * time.Second)
	fresh := h.readReq(c.provider, c.patient.ID, blockTime.Add(time.Minute))
	expired := h.readReq(c.provider, c.patient.ID, blockTime.Add(-time.Second))
	tooFar := h.readReq(c.provider, c.patient.ID, blockTime.Add(time.Hour))
	forged := h.readReq(c.provider, c.patient.ID, blockTime.Add(time.Minute))
	forged.Signature[3] ^= 1
	otherChain := h.readReq(c.provider, c.patient.ID, blockTime.Add(time.Minute))
	otherChain.ChainID = "elsewhere"
	otherChain.Sign(c.provider.Keys.Sign)

	// CheckTx refuses a batch with a forged request or a request for another chain.
	for name, q := range map[string]*records.ReadRequest{"forged": forged, "other chain": otherChain} {
		r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: batchTx(q)})
		if r.Code == 0 {
			t.Fatalf("CheckTx admitted a batch with a %s request", name)
		}
	}
	// An envelope that claims a signer cannot carry a read batch.
	w := tx.NewWriter(0)
	(&records.ReadBatch{Requests: []*records.ReadRequest{fresh}}).Encode(w)
	s, _ := tx.ParseSigner(c.provider.ID)
	if r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx.Sign(c.provider.Keys.Sign, s, testChain, 0, &records.ReadBatch{Requests: []*records.ReadRequest{fresh}}).Encode()}); r.Code != tx.CodeMalformed {
		t.Fatalf("signed read batch envelope: code %d", r.Code)
	}

	before := h.st.LastCommit().LogSize
	h.mustOK(batchTx(fresh, expired, tooFar, forged, otherChain))
	if got := h.st.LastCommit().LogSize - before; got != 1 {
		t.Fatalf("%d events recorded, want 1 (only the fresh, well-signed request)", got)
	}
	out := records.Result(h.st.Committed(), fresh)
	if out == nil || out.Allowed {
		t.Fatalf("outcome of a read of a missing record: %+v", out)
	}
	// A replay of the same signed request is not recorded again.
	h.mustOK(batchTx(fresh))
	if got := h.st.LastCommit().LogSize - before; got != 1 {
		t.Fatalf("replayed read request recorded again (%d events)", got)
	}
}

// TestOrganizationGrantMatchesProvidersOnly: a patient cannot claim an organization, and an
// organization-wide grant does not extend to a non-provider that names the organization.
func TestOrganizationGrantMatchesProvidersOnly(t *testing.T) {
	h := newHarness(t)
	h.registerCast()
	spoof := newKS(t, "spoof")
	reg := registration(spoof, identity.Patient, "St Mary", "")
	if r := h.block(h.sign(spoof, reg))[0]; r.Code != identity.CodeInvalid || r.Codespace != string(identity.Space) {
		t.Fatalf("patient registering with an organization: %s/%d %s", r.Codespace, r.Code, r.Log)
	}
}
