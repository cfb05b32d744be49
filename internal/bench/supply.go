package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// The supply workload captures EPCIS 2.0 documents of EventsPerDoc events, a quarter of
// each kind: a manufacturer commissioning packs, packing packs into cases (aggregation),
// shipping cases to a wholesaler, and the wholesaler receiving cases shipped to it. Every
// event is a legal custody step, so the contract's clean path is what is timed; what each
// timed document needs (packs to pack, cases to ship, shipments to receive) is committed
// in the setup.
const (
	// EventsPerDoc is the events of one captured document.
	EventsPerDoc = 10
	// packsPerEvent is the packs one commissioning event names and one case holds.
	packsPerEvent = 10
)

// The kinds of the supply workload's documents, as its parts are reported.
const (
	kindCommission = "commission"
	kindAggregate  = "aggregate"
	kindShip       = "ship"
	kindReceive    = "receive"
)

var supplyKinds = []string{kindCommission, kindAggregate, kindShip, kindReceive}

// supplyWorld numbers the partners and identifiers of the workload, so that every
// document names GS1 keys of its own partner that no other document names.
type supplyWorld struct {
	chainID string
	events  int // events made so far, for distinct event times
}

// prefix is company prefix i (7 digits, all the same length so none begins another).
func mfrPrefix(i int) string        { return fmt.Sprintf("9%06d", i) }
func wholesalerPrefix(i int) string { return fmt.Sprintf("8%06d", i) }

// gln is the 13-digit GLN of location 00000 of a company prefix, with its check digit.
func gln(prefix string) string { k := prefix + "00000"; return k + string(gs1Check(k)) }

func pgln(prefix string) string { return "urn:epc:id:pgln:" + prefix + ".00000" }
func sgln(prefix string) string { return "urn:epc:id:sgln:" + prefix + ".00000.0" }

// sgtin is pack n of manufacturer prefix's product 012345. Serials, lots and order
// numbers have a fixed width, so every document of a kind has the same size as the
// sample the padded baseline is fitted to.
func sgtin(prefix string, n int) string {
	return fmt.Sprintf("urn:epc:id:sgtin:%s.012345.%08d", prefix, n)
}

// sscc is case n of the manufacturer (extension digit 0, 9 digits of serial reference).
func sscc(prefix string, n int) string { return fmt.Sprintf("urn:epc:id:sscc:%s.0%09d", prefix, n) }

// gs1Check is the GS1 mod-10 check digit of a key without it.
func gs1Check(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func quote(ids []string) string { return `"` + strings.Join(ids, `","`) + `"` }

// doc wraps events (JSON members without their time) in an EPCISDocument as a capturing
// system sends it, each event a second after the one before.
func (s *supplyWorld) doc(events []string) []byte {
	base := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	list := make([]string, len(events))
	for i, e := range events {
		s.events++
		list[i] = fmt.Sprintf(`{%s,"eventTime":"%s","eventTimeZoneOffset":"+00:00"}`, e, base.Add(time.Duration(s.events)*time.Second).Format(time.RFC3339))
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-05T05:59:00Z","epcisBody":{"eventList":[` + strings.Join(list, ",") + `]}}`)
}

// commissionDoc commissions packs first .. first+EventsPerDoc*packsPerEvent-1 of prefix,
// packsPerEvent an event, each event its own lot.
func (s *supplyWorld) commissionDoc(prefix string, first int) []byte {
	ev := make([]string, EventsPerDoc)
	for e := range ev {
		lot := fmt.Sprintf("L%06d", (first+e*packsPerEvent)/packsPerEvent)
		ev[e] = `"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":[` +
			quote(packs(prefix, first+e*packsPerEvent)) + `],"readPoint":{"id":"` + sgln(prefix) + `"},"bizLocation":{"id":"` + sgln(prefix) +
			`"},"ilmd":{"cbvmda:lotNumber":"` + lot + `","cbvmda:itemExpirationDate":"2028-06-30"}`
	}
	return s.doc(ev)
}

// packs are the packsPerEvent packs from first.
func packs(prefix string, first int) []string {
	out := make([]string, packsPerEvent)
	for i := range out {
		out[i] = sgtin(prefix, first+i)
	}
	return out
}

// aggregateDoc packs the packs from first into cases firstCase .. firstCase+EventsPerDoc-1.
func (s *supplyWorld) aggregateDoc(prefix string, first, firstCase int) []byte {
	ev := make([]string, EventsPerDoc)
	for e := range ev {
		ev[e] = `"type":"AggregationEvent","action":"ADD","bizStep":"packing","disposition":"in_progress","parentID":"` + sscc(prefix, firstCase+e) +
			`","childEPCs":[` + quote(packs(prefix, first+e*packsPerEvent)) + `],"readPoint":{"id":"` + sgln(prefix) + `"},"bizLocation":{"id":"` + sgln(prefix) + `"}`
	}
	return s.doc(ev)
}

// shipDoc ships cases firstCase .. firstCase+EventsPerDoc-1 to the wholesaler, one a
// purchase order of its own.
func (s *supplyWorld) shipDoc(prefix string, firstCase int, to string) []byte {
	ev := make([]string, EventsPerDoc)
	for e := range ev {
		ev[e] = `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":["` + sscc(prefix, firstCase+e) +
			`"],"readPoint":{"id":"` + sgln(prefix) + `"},"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:` + gln(to) +
			fmt.Sprintf(":PO-%08d", firstCase+e) + `"}],"sourceList":[{"type":"owning_party","source":"` + pgln(prefix) +
			`"}],"destinationList":[{"type":"owning_party","destination":"` + pgln(to) + `"}]`
	}
	return s.doc(ev)
}

// receiveDoc is the wholesaler receiving those cases from the manufacturer.
func (s *supplyWorld) receiveDoc(wholesaler, from string, firstCase int) []byte {
	ev := make([]string, EventsPerDoc)
	for e := range ev {
		ev[e] = `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","disposition":"in_progress","epcList":["` + sscc(from, firstCase+e) +
			`"],"readPoint":{"id":"` + sgln(wholesaler) + `"},"bizLocation":{"id":"` + sgln(wholesaler) + `"},"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:` + gln(wholesaler) +
			fmt.Sprintf(":PO-%08d", firstCase+e) + `"}],"sourceList":[{"type":"owning_party","source":"` + pgln(from) +
			`"}],"destinationList":[{"type":"owning_party","destination":"` + pgln(wholesaler) + `"}]`
	}
	return s.doc(ev)
}

// supplyChain is one signer's share of the workload: the documents it captures in the
// setup (what its timed documents need) and timed, in order.
type supplyChain struct {
	ks           *keys.Keystore
	kind         string
	setup, timed [][]byte
}

// prepareSupply builds the supply workload: txs documents dealt round-robin to the four
// kinds, each kind spread over up to actors/4 signers. Manufacturer j of each kind owns
// its own company prefix; the receiving wholesaler j receives what a manufacturer of its
// own shipped to it in the setup.
func prepareSupply(chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	s := &supplyWorld{chainID: chainID}
	perKind := make([]int, len(supplyKinds))
	for i := range txs {
		perKind[i%len(supplyKinds)]++
	}
	signers := max(1, min(actors/len(supplyKinds), (txs+len(supplyKinds)-1)/len(supplyKinds)))
	mfrs, err := keystores("supply-mfr", signers*len(supplyKinds))
	if err != nil {
		return nil, err
	}
	whs, err := keystores("supply-wholesaler", signers)
	if err != nil {
		return nil, err
	}
	sign := func(k *keys.Keystore, seq uint64, b tx.Body) []byte {
		signer, _ := tx.ParseSigner(k.ID)
		return tx.Sign(k.Keys.Sign, signer, chainID, seq, b).Encode()
	}
	var regStream [][]byte
	regTx := func(b tx.Body) {
		regStream = append(regStream, sign(reg, regSeq+uint64(len(regStream)), b))
	}
	for i, k := range mfrs {
		regTx(client.RegistrationFor(chainID, k, identity.Manufacturer, fmt.Sprintf("Bench Pharma %d", i), fmt.Sprintf("Bench Pharma %d", i), ""))
		regTx(&supply.BindBody{Partner: k.ID, Prefixes: []string{mfrPrefix(i)}, GLNs: []string{gln(mfrPrefix(i))}})
	}
	for i, k := range whs {
		regTx(client.RegistrationFor(chainID, k, identity.Wholesaler, fmt.Sprintf("Bench Wholesale %d", i), fmt.Sprintf("Bench Wholesale %d", i), ""))
		regTx(&supply.BindBody{Partner: k.ID, GLNs: []string{gln(wholesalerPrefix(i))}})
	}

	var chains []*supplyChain
	for kind, name := range supplyKinds {
		for j := range signers {
			m := kind*signers + j
			prefix := mfrPrefix(m)
			docs := perKind[kind] / signers
			if j < perKind[kind]%signers {
				docs++
			}
			if docs == 0 {
				continue
			}
			c := &supplyChain{ks: mfrs[m], kind: name}
			if name == kindReceive {
				c.ks = whs[j]
			}
			const perDoc = EventsPerDoc * packsPerEvent
			for d := range docs {
				first, firstCase := d*perDoc, d*EventsPerDoc
				switch name {
				case kindCommission:
					c.timed = append(c.timed, s.commissionDoc(prefix, first))
				case kindAggregate:
					c.setup = append(c.setup, s.commissionDoc(prefix, first))
					c.timed = append(c.timed, s.aggregateDoc(prefix, first, firstCase))
				case kindShip:
					c.setup = append(c.setup, s.commissionDoc(prefix, first), s.aggregateDoc(prefix, first, firstCase))
					c.timed = append(c.timed, s.shipDoc(prefix, firstCase, wholesalerPrefix(j)))
				case kindReceive:
					// The manufacturer's setup ships; the wholesaler's timed documents receive.
					ship := &supplyChain{ks: mfrs[m], kind: name}
					ship.setup = append(ship.setup, s.commissionDoc(prefix, first), s.aggregateDoc(prefix, first, firstCase),
						s.shipDoc(prefix, firstCase, wholesalerPrefix(j)))
					chains = append(chains, ship)
					c.timed = append(c.timed, s.receiveDoc(wholesalerPrefix(j), prefix, firstCase))
				}
			}
			chains = append(chains, c)
		}
	}

	// A signer's own transactions carry increasing sequences from 0 (its registration was
	// the registrar's), setup first.
	seqs := map[string]uint64{}
	next := func(k *keys.Keystore) uint64 { n := seqs[k.ID]; seqs[k.ID]++; return n }
	setupStreams := map[string][][]byte{}
	var order []string
	for _, c := range chains {
		for _, d := range c.setup {
			if _, ok := setupStreams[c.ks.ID]; !ok {
				order = append(order, c.ks.ID)
			}
			setupStreams[c.ks.ID] = append(setupStreams[c.ks.ID], sign(c.ks, next(c.ks), &supply.CaptureBody{Document: d}))
		}
	}
	w := &workload{name: Supply, txs: txs, events: EventsPerDoc, setup: [][][][]byte{{regStream}}}
	if len(order) > 0 {
		phase := make([][][]byte, len(order))
		for i, id := range order {
			phase[i] = setupStreams[id]
		}
		w.setup = append(w.setup, phase)
	}
	for _, c := range chains {
		if len(c.timed) == 0 {
			continue
		}
		stream := make([][]byte, len(c.timed))
		for i, d := range c.timed {
			stream[i] = sign(c.ks, next(c.ks), &supply.CaptureBody{Document: d})
		}
		w.streams = append(w.streams, stream)
		w.kinds = append(w.kinds, c.kind)
	}
	events := uint64(s.events)
	w.check = func(v identity.Reader) error {
		// Every event was new and a legal custody step: a suspect-product event would mean
		// the timed path was the contract's refusal path, not capture.
		if n := supply.SuspectCount(v); n != 0 {
			return fmt.Errorf("the supply workload raised %d suspect-product events (first: %+v)", n, supply.GetSuspect(v, 1))
		}
		if n := supply.EventCount(v); n < events {
			return fmt.Errorf("%d EPCIS events on the ledger, want at least %d", n, events)
		}
		return nil
	}
	w.count()
	return w, nil
}

// captureSample is one signed capture of each kind of the supply workload, for the
// padded baseline of its size.
func captureSample(chainID string) ([][]byte, error) {
	ks, err := keystores("sample", 1)
	if err != nil {
		return nil, err
	}
	s := &supplyWorld{chainID: chainID}
	p, to := mfrPrefix(0), wholesalerPrefix(0)
	docs := [][]byte{s.commissionDoc(p, 0), s.aggregateDoc(p, 0, 0), s.shipDoc(p, 0, to), s.receiveDoc(to, p, 0)}
	signer, _ := tx.ParseSigner(ks[0].ID)
	out := make([][]byte, len(docs))
	for i, d := range docs {
		out[i] = tx.Sign(ks[0].Keys.Sign, signer, chainID, uint64(i+1), &supply.CaptureBody{Document: d}).Encode()
	}
	return out, nil
}
