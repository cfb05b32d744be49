package interchain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// BenchmarkCrossChainTx is the work of a recognition (tx 104) and of a citation's proof
// check (tx 103) against a counterparty state map of 10,000 provider identities and 10,000
// dispense events: the ICS-23 check against the verified header, decoding the proven
// value and the rule on it. A recognition is run whole (in an overlay that is dropped);
// the citation's record checks are index reads and are left out.
func BenchmarkCrossChainTx(b *testing.B) {
	kp, err := keys.Generate()
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	kv := map[string]string{}
	ids, digests := make([]string, n), make([]string, n)
	for i := range n {
		sk := sha256.Sum256(fmt.Append(nil, "provider ", i))
		ids[i] = keys.IDFromSignKey(sk[:])
		kv[string(identity.Key(ids[i]))] = string((&identity.Identity{ID: ids[i], Role: identity.Provider, Name: "Dr", Organization: "St Mary",
			Licence: "MD", SignKey: sk[:], EncKey: kp.EncPublic(), KeyVersion: 1, Active: true, RegisteredBy: "reg", RegisteredAt: 3}).Encode())
		hashID := fmt.Sprintf("ni:///sha-256;%x?ver=CBV2.0", sha256.Sum256(fmt.Append(nil, "event ", i)))
		digests[i] = supply.Digest(hashID)
		ev, _ := json.Marshal(&supply.StoredEvent{HashID: hashID, Type: "ObjectEvent", CapturedBy: "pharmacy", Height: 5, Tx: hex.EncodeToString(sk[:]), Seq: uint64(i + 1),
			Event: fmt.Appendf(nil, `{"type":"ObjectEvent","action":"OBSERVE","bizStep":"dispensing","epcList":["urn:epc:id:sgtin:4012345.012345.%d"],"eventTime":"2026-11-02T08:00:00Z","eventTimeZoneOffset":"+00:00"}`, i)})
		kv[string(supply.EventKey(digests[i]))] = string(ev)
	}
	cp := newCounterparty(b)
	cp.commit(b, 1, kv)
	o := withClient(b)
	hd := header(2)
	hd.AppHash = cp.hash[1]
	if err := o.update(1, sign(hd)); err != nil {
		b.Fatal(err)
	}
	if err := o.run(registrar, func(st interchain.Store, env identity.Env) *tx.Error {
		return interchain.ExecAdmit(st.(interchain.LogStore), env, registrar.ID, &crosstx.AdmitBody{ClientID: clientID, Admit: true})
	}); err != nil {
		b.Fatal(err)
	}
	prove := func(key string) *interchain.StateProof {
		p, err := cp.views[1].Prove([]byte(key))
		if err != nil {
			b.Fatal(err)
		}
		return (*interchain.StateProof)(p)
	}
	id := ids[4242]
	rb := &crosstx.RecogniseBody{ClientID: clientID, Identity: id, Entry: []byte(kv[string(identity.Key(id))]), Proof: (*wire.Proof)(prove(string(identity.Key(id))))}
	env := identity.Env{ChainID: ourChain, Height: o.height + 1, Time: o.now, TxHash: "00", Signer: relayer}
	b.Run("recognise", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			if err := interchain.ExecRecognise(o.st.Begin(), env, relayer.ID, rb); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(len(rb.Proof.Map)), "proof-bytes")
		b.ReportMetric(float64(len(tx.Sign(kp.Sign, [tx.SignerLen]byte{}, ourChain, 0, rb).Encode())), "tx-bytes")
	})
	d := digests[4242]
	key, val := supply.EventKey(d), []byte(kv[string(supply.EventKey(d))])
	p := prove(string(key))
	r := o.st.Committed()
	b.Run("cite-proof", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			if err := interchain.VerifyState(r, clientID, p, key, val); err != nil {
				b.Fatal(err)
			}
			var ev supply.StoredEvent
			if err := json.Unmarshal(val, &ev); err != nil {
				b.Fatal(err)
			}
			if _, _, why := interchain.Dispense(&ev, "urn:epc:id:sgtin:4012345.012345.4242"); why != "" {
				b.Fatal(why)
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(len(p.Map)), "proof-bytes")
		cb := &crosstx.CiteBody{Record: "disp-1", ClientID: clientID, Digest: d, EPC: "urn:epc:id:sgtin:4012345.012345.4242", Event: val, Proof: (*wire.Proof)(p)}
		b.ReportMetric(float64(len(tx.Sign(kp.Sign, [tx.SignerLen]byte{}, ourChain, 0, cb).Encode())), "tx-bytes")
	})
}
