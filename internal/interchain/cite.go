package interchain

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// CiteStore is the state a citation reads and writes: the record index as well.
type CiteStore interface {
	LogStore
	GetIndex(key []byte) []byte
}

// citedKey marks an event of a chain as cited, by which record: one dispense, one record.
func citedKey(chainID, digest string) []byte {
	return []byte("interchain/cited/" + chainID + "/" + digest)
}

// ExecCite checks that the signer wrote Record, a MedicationDispense, that the supply
// chain committed Event under its key (VerifyState), and that the event dispenses EPC;
// then it stores the citation and audits it. An event is cited by one record only.
func ExecCite(st CiteStore, env identity.Env, signer string, b *crosstx.CiteBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Provider {
		return Space.Err(CodeNotAuthor, "only the dispensing provider cites a dispense from its record; the signer %s is not a provider", signer)
	}
	if !records.ValidID(b.Record) {
		return Space.Err(CodeInvalid, "record id %q is not a record id", b.Record)
	}
	if d, err := hex.DecodeString(b.Digest); err != nil || len(d) != 32 || hex.EncodeToString(d) != b.Digest {
		return Space.Err(CodeInvalid, "digest must be the 64 lower-case hex characters of the event's SHA-256 (supply.Digest)")
	}
	if b.EPC == "" || b.Event == nil {
		return Space.Err(CodeInvalid, "a citation names the dispensed pack and carries the proven event")
	}
	head := records.Head(st, b.Record)
	var m *records.Meta
	if head > 0 && records.Erased(st, b.Record) == nil {
		m = records.Version(st, b.Record, head)
	}
	switch {
	case m == nil:
		return Space.Err(CodeNoRecord, "record %s does not exist on this chain", b.Record)
	case m.ResourceType != crosstx.DispenseResourceType:
		return Space.Err(CodeNoRecord, "record %s is a %s; only a %s cites a dispense", b.Record, m.ResourceType, crosstx.DispenseResourceType)
	case m.Author != signer:
		return Space.Err(CodeNotAuthor, "record %s was written by %s; only its author cites from it", b.Record, m.Author)
	}
	c, err := liveClient(st, b.ClientID)
	if err != nil {
		return err
	}
	if err := VerifyState(st, c.ID, (*StateProof)(b.Proof), supply.EventKey(b.Digest), b.Event); err != nil {
		return err
	}
	var ev supply.StoredEvent
	if jerr := json.Unmarshal(b.Event, &ev); jerr != nil {
		return Space.Err(CodeNotDispense, "the value proven under %s is not a stored EPCIS event: %v", supply.EventKey(b.Digest), jerr)
	}
	if supply.Digest(ev.HashID) != b.Digest {
		return Space.Err(CodeNotDispense, "the event proven under digest %s has hash id %q", b.Digest, ev.HashID)
	}
	epc, step, why := Dispense(&ev, b.EPC)
	if why != "" {
		return Space.Err(CodeNotDispense, "event %s on chain %s: %s", ev.HashID, c.ChainID, why)
	}
	if by := st.Get(citedKey(c.ChainID, b.Digest)); by != nil {
		return Space.Err(CodeExists, "the dispense %s of chain %s is already cited by record %s", ev.HashID, c.ChainID, by)
	}
	cit := &crosstx.Citation{Record: b.Record, Version: m.Version, ChainID: c.ChainID, Client: c.ID, Height: b.Proof.Height,
		Digest: b.Digest, HashID: ev.HashID, EPC: epc, BizStep: step, CapturedBy: ev.CapturedBy,
		CitedBy: signer, CitedAt: env.Height, Tx: env.TxHash}
	st.Set(crosstx.CitationKey(b.Record, b.Digest), cit.Encode())
	st.Set(citedKey(c.ChainID, b.Digest), []byte(b.Record))
	aev := env.SignerEvent(signer, ActionCite)
	aev.Patient, aev.Record, aev.Version, aev.Category, aev.ResourceType = m.Patient, m.RecordID, m.Version, m.Category, m.ResourceType
	aev.Digest = b.Digest
	aev.Reason = fmt.Sprintf("dispense of %s on chain %s, proven at its height %d", epc, c.ChainID, b.Proof.Height)
	st.Append(aev.Encode())
	return nil
}

// epcisEvent is what a citation reads of an EPCIS event.
type epcisEvent struct {
	Type        string   `json:"type"`
	BizStep     string   `json:"bizStep"`
	Disposition string   `json:"disposition"`
	EPCList     []string `json:"epcList"`
}

// Dispense decides whether a stored event dispenses pack epc: an ObjectEvent whose CBV
// business step is dispensing or whose disposition is dispensed, naming the pack in its
// epcList, and not declared erroneous. It returns the pack's canonical id and the step, or
// why not. It is pure.
func Dispense(ev *supply.StoredEvent, epc string) (canonical, step, why string) {
	var e epcisEvent
	if err := json.Unmarshal(ev.Event, &e); err != nil {
		return "", "", fmt.Sprintf("the event does not decode: %v", err)
	}
	step = cbvWord(e.BizStep, "BizStep")
	disp := cbvWord(e.Disposition, "Disp")
	canonical = supply.CanonicalID(epc)
	switch {
	case ev.Declaration != nil:
		return "", "", "it was declared erroneous at height " + fmt.Sprint(ev.Declaration.Height)
	case e.Type != "ObjectEvent":
		return "", "", "it is an " + e.Type + ", not the ObjectEvent of a dispense"
	case step != "dispensing" && disp != "dispensed":
		return "", "", fmt.Sprintf("its business step is %q and its disposition %q: neither is a dispense (dispensing, dispensed)", step, disp)
	case !slices.ContainsFunc(e.EPCList, func(s string) bool { return supply.CanonicalID(s) == canonical }):
		return "", "", "it does not name pack " + epc + " in its epcList"
	}
	return canonical, step, ""
}

// cbvWord is a CBV term's bare word from any of its spellings (urn:epcglobal:cbv:bizstep:
// dispensing, https://ref.gs1.org/cbv/BizStep-dispensing, dispensing).
func cbvWord(s, vocab string) string {
	for _, p := range []string{"urn:epcglobal:cbv:" + strings.ToLower(vocab) + ":", "https://ref.gs1.org/cbv/" + vocab + "-"} {
		if w, ok := strings.CutPrefix(s, p); ok {
			return w
		}
	}
	return s
}
