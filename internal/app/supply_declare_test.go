package app

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/epcis"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// eventAt is a story event at a fixed time, so that the same event can be captured again
// (as its error declaration) and hash the same.
func eventAt(body, at string, extra ...string) string {
	return `{` + body + `,"eventTime":"` + at + `","eventTimeZoneOffset":"+00:00"` + strings.Join(extra, "") + `}`
}

// declaredAs is the extra members of an error declaration (and the eventID it repeats).
func declaredAs(eventID, reason string, corrective ...string) string {
	s := `,"eventID":"` + eventID + `","errorDeclaration":{"declarationTime":"2026-02-01T00:00:00Z","reason":"` + reason + `"`
	if len(corrective) > 0 {
		s += `,"correctiveEventIDs":[` + quoted(corrective) + `]`
	}
	return s + `}`
}

func withID(eventID string) string { return `,"eventID":"` + eventID + `"` }

func rawDoc(events ...string) []byte {
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",` +
		`"schemaVersion":"2.0","creationDate":"2026-01-02T03:04:05Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
}

// captureOK captures doc as ks, which must be committed, and returns what it did.
func (h *harness) captureOK(ks *keys.Keystore, doc []byte) *supply.Capture {
	h.t.Helper()
	raw, r := h.capture(ks, doc)
	if r.Code != 0 {
		h.t.Fatalf("capture by %s refused: %s/%d %s", ks.Name, r.Codespace, r.Code, r.Log)
	}
	return h.captured(raw)
}

func (h *harness) event(hashID string) *supply.StoredEvent {
	h.t.Helper()
	ev := supply.GetEvent(h.st.Committed(), supply.Digest(hashID))
	if ev == nil {
		h.t.Fatalf("no stored event %s", hashID)
	}
	return ev
}

func (h *harness) suspectsOf(c *supply.Capture) []*supply.Suspect {
	var out []*supply.Suspect
	for _, ev := range c.Events {
		for _, seq := range ev.Suspects {
			out = append(out, supply.GetSuspect(h.st.Committed(), seq))
		}
	}
	return out
}

// verifySerial is what a pharmacist scanning Acme's pack SERIAL is told.
func (h *harness) verifySerial(serial string) supply.Verdict {
	h.t.Helper()
	code, err := supply.ParseCode("(01)04012345123456(21)" + serial)
	if err != nil {
		h.t.Fatal(err)
	}
	item := supply.GetPublic(h.st.Committed(), code.ItemID())
	var lot *supply.Public
	if item != nil && item.Lot != "" {
		lot = supply.GetPublic(h.st.Committed(), item.Lot)
	}
	return supply.Judge(code, item, lot, genesisTime.Add(time.Duration(h.height)*time.Second))
}

// hashesAlone checks that a stored event, as it is answered, still hashes to its id.
func hashesAlone(t *testing.T, ev *supply.StoredEvent) {
	t.Helper()
	evs, err := epcis.HashDocument(rawDoc(string(ev.Event)))
	if err != nil || len(evs) != 1 || evs[0].HashID != ev.HashID {
		t.Fatalf("the stored event %s hashes to %v (%v)", ev.HashID, evs, err)
	}
}

// TestErrorDeclarationOfTheStandardExample: the standard's ObjectEvent example, then its
// error declaration (the same event with errorDeclaration added): the declaration hashes
// to the event it declares, which stays on the ledger, marked, answered with its
// errorDeclaration. Only its capturer may declare it.
func TestErrorDeclarationOfTheStandardExample(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(epcisExamples, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	orig := h.captureOK(c.acme, read("Example_9.6.1-ObjectEvent.jsonld"))
	shipping := orig.Events[0].HashID

	decl := read("Example_9.6.1-ObjectEvent-with-error-declaration.jsonld")
	_, r := h.capture(c.globex, decl)
	wantCode(t, "another partner declares Acme's event erroneous", r, supply.Space, supply.CodeNotCapturer)
	_, r = h.capture(c.regulator, decl)
	wantCode(t, "a regulator captures a declaration", r, supply.Space, supply.CodeUnauthorized)
	if h.event(shipping).Declaration != nil {
		t.Fatal("a refused declaration marked the event")
	}

	got := h.captureOK(c.acme, decl)
	if e := got.Events[0]; e.HashID != shipping || e.New || !e.Declared {
		t.Fatalf("the declaration: %+v, want the declared event %s, not new", e, shipping)
	}
	if e := got.Events[1]; e.New || e.Declared || e.HashID != orig.Events[1].HashID {
		t.Fatalf("the document's second event (no declaration): %+v", e)
	}
	ev := h.event(shipping)
	d := ev.Declaration
	if d == nil || d.Reason != supply.ErrorIncorrectData || d.DeclarationTime != "2021-02-01T22:46:31.117000+00:00" ||
		d.DeclaredBy != c.acme.ID || len(d.CorrectiveEventIDs) != 2 || ev.Seq != 1 || ev.CapturedBy != c.acme.ID {
		t.Fatalf("the declared event: %+v, declaration %+v", ev, d)
	}
	if !bytes.Contains(ev.Event, []byte(`"errorDeclaration":{"declarationTime":"2021-02-01T22:46:31.117000+00:00"`)) {
		t.Fatalf("the stored event does not carry its errorDeclaration: %s", ev.Event)
	}
	hashesAlone(t, ev)
	// The shipment named two packs never commissioned: the contract made quarantined
	// unknown records of them. Undoing the shipment voids those records; the suspect
	// event and the quarantine stay.
	if d.Custody != supply.CustodyUndone || len(d.Items) != 2 {
		t.Fatalf("custody after the declaration: %+v", d)
	}
	it := h.item("urn:epc:id:sgtin:0614141.107346.2017")
	if it.Status != supply.StatusVoid || !it.Quarantined || len(it.Suspects) != 1 || !slices.Contains(it.Events, supply.Digest(shipping)) {
		t.Fatalf("the shipped pack after its shipment was declared erroneous: %+v", it)
	}

	// The same declaration again changes nothing: the first declaration stands.
	again := h.captureOK(c.acme, decl)
	if again.Events[0].Declared || again.Events[0].New {
		t.Fatalf("a repeated declaration: %+v", again.Events[0])
	}
	if d2 := h.event(shipping).Declaration; d2.Height != d.Height {
		t.Fatalf("a repeated declaration replaced the first: %+v", d2)
	}
	replayHashes(t, h)
}

// TestErrorDeclarationUndoesCustody: Acme ships a pack to the wholesaler by mistake and
// declares the shipment erroneous in the same document as its corrective event, a
// shipment to the pharmacy: the pack is back with Acme before the corrective event
// ships it, the two events name each other, and the wholesaler, who was never meant to
// get it, cannot receive it.
func TestErrorDeclarationUndoesCustody(t *testing.T) {
	h := newHarness(t)
	c := h.registerStory()
	pack, other := sgtinOf("5001"), sgtinOf("5002")
	h.clean(c.acme, commissionEv("L5", "2027-06-30", pack, other))

	const wrongID, rightID = "urn:uuid:6f0e3b7a-0000-4000-8000-000000000001", "urn:uuid:6f0e3b7a-0000-4000-8000-000000000002"
	wrong := shipEv(wholesalerParty, pack)
	first := h.captureOK(c.acme, rawDoc(eventAt(wrong, "2026-01-05T10:00:00Z", withID(wrongID))))
	if it := h.item(pack); it.Status != supply.StatusInTransit || it.ShippedTo != c.wholesaler.ID {
		t.Fatalf("after the mistaken shipment: %+v", it)
	}

	// The declaration carries a changed field: it is not a copy of the shipment, so it
	// hashes to no stored event and declares nothing but itself (stored, marked, without
	// custody effect). The shipment is untouched.
	notACopy := h.captureOK(c.acme, rawDoc(eventAt(shipEv(pharmacyParty, pack), "2026-01-05T10:00:00Z", declaredAs(wrongID, "did_not_occur"))))
	if e := notACopy.Events[0]; !e.New || !e.Declared || e.HashID == first.Events[0].HashID {
		t.Fatalf("a declaration that is not a copy: %+v", e)
	}
	if d := h.event(notACopy.Events[0].HashID).Declaration; d == nil || d.Custody != supply.CustodyNone {
		t.Fatalf("a declaration first captured: %+v", d)
	}
	if it := h.item(pack); it.ShippedTo != c.wholesaler.ID || h.event(first.Events[0].HashID).Declaration != nil {
		t.Fatalf("a declaration of another event touched the shipment: %+v", it)
	}

	// The real declaration, and its corrective event after it, in one document.
	got := h.captureOK(c.acme, rawDoc(
		eventAt(wrong, "2026-01-05T10:00:00Z", declaredAs(wrongID, "did_not_occur", rightID)),
		eventAt(shipEv(pharmacyParty, pack), "2026-01-05T11:00:00Z", withID(rightID)),
	))
	if len(h.suspectsOf(got)) != 0 || !got.Events[0].Declared || got.Events[0].HashID != first.Events[0].HashID || !got.Events[1].New {
		t.Fatalf("declaration and corrective event: %+v", got.Events)
	}
	erroneous, corrective := h.event(got.Events[0].HashID), h.event(got.Events[1].HashID)
	if d := erroneous.Declaration; d.Custody != supply.CustodyUndone || !slices.Equal(d.Items, []string{supply.CanonicalID(pack)}) ||
		d.Reason != supply.ErrorDidNotOccur || !slices.Equal(d.Corrective, []string{corrective.HashID}) {
		t.Fatalf("the declaration: %+v", d)
	}
	if !slices.Equal(corrective.Corrects, []string{erroneous.HashID}) {
		t.Fatalf("the corrective event corrects %v, want %s", corrective.Corrects, erroneous.HashID)
	}
	hashesAlone(t, erroneous)
	it := h.item(pack)
	if it.Status != supply.StatusInTransit || it.ShippedTo != c.pharmacy.ID || it.Owner != c.acme.ID || it.Quarantined {
		t.Fatalf("after the declaration and the corrective shipment: %+v", it)
	}
	// Both shipments stay in the pack's history, the erroneous one marked.
	if !slices.Contains(it.Events, supply.Digest(erroneous.HashID)) || !slices.Contains(it.Events, supply.Digest(corrective.HashID)) {
		t.Fatalf("the pack's history %v lost an event", it.Events)
	}
	tr := supply.Trace(h.st.Committed(), supply.CanonicalID(pack))
	marked := false
	for _, st := range tr.Steps {
		marked = marked || (st.Event.HashID == erroneous.HashID && st.Event.Declaration != nil)
	}
	if !marked {
		t.Fatal("the trace does not show the declared shipment as declared")
	}

	// The wholesaler was never meant to get it.
	h.wantSuspect("the wholesaler receives the pack", h.step(c.wholesaler, observeEv("receiving", pack)), supply.ReasonNotReceiver, []string{pack}, c.wholesaler.ID, c.acme.ID)
	// The other pack was untouched all along and is still genuine.
	if v := h.verifySerial("5002"); v.Answer != supply.AnswerGenuine {
		t.Fatalf("the other pack verifies as %+v", v)
	}
	replayHashes(t, h)
}

// TestErrorDeclarationAfterLaterEvents: when other events built on the erroneous one (the
// wholesaler received the shipment), undoing it alone would leave a receipt of goods never
// shipped. Custody stands as recorded, a suspect event says why, the packs are
// quarantined; a regulator's release lets them move again. A declared commissioning with
// nothing built on it voids the pack, which may then be commissioned anew.
func TestErrorDeclarationAfterLaterEvents(t *testing.T) {
	h := newHarness(t)
	c := h.registerStory()
	pack, fresh := sgtinOf("6001"), sgtinOf("6002")
	h.clean(c.acme, commissionEv("L6", "2027-06-30", pack))
	ship := shipEv(wholesalerParty, pack)
	first := h.captureOK(c.acme, rawDoc(eventAt(ship, "2026-01-06T10:00:00Z")))
	h.clean(c.wholesaler, observeEv("receiving", pack))

	got := h.captureOK(c.acme, rawDoc(eventAt(ship, "2026-01-06T10:00:00Z", `,"errorDeclaration":{"declarationTime":"2026-02-01T00:00:00Z","reason":"urn:epcglobal:cbv:er:incorrect_data"}`)))
	if got.Events[0].HashID != first.Events[0].HashID || !got.Events[0].Declared {
		t.Fatalf("the declaration: %+v", got.Events[0])
	}
	s := h.wantSuspect("a declared shipment the wholesaler received", h.suspectsOf(got), supply.ReasonDeclaredErroneous, []string{pack}, c.acme.ID, c.wholesaler.ID)
	if d := h.event(first.Events[0].HashID).Declaration; d.Custody != supply.CustodyKept || d.Suspect != s.Seq {
		t.Fatalf("the declaration: %+v", d)
	}
	if it := h.item(pack); it.Owner != c.wholesaler.ID || it.Status != supply.StatusActive {
		t.Fatalf("custody after a declaration that could not be undone: %+v", it)
	}
	if v := h.verifySerial("6001"); v.Answer != supply.AnswerSuspect {
		t.Fatalf("the pack verifies as %+v", v)
	}
	h.wantSuspect("the wholesaler ships the quarantined pack", h.step(c.wholesaler, shipEv(pharmacyParty, pack)), supply.ReasonQuarantinedMoved, []string{pack})

	// The regulator looks into it and releases the pack; then it moves again.
	h.mustOK(h.sign(c.regulator, &supply.ReleaseBody{Items: []string{pack}, Reason: "Acme's shipment record had a wrong PO; the goods are genuine"}))
	h.clean(c.wholesaler, shipEv(pharmacyParty, pack))

	// A commissioning declared erroneous with nothing built on it: the pack is void
	// (verification: suspect), and Acme may commission it again.
	comm := commissionEv("L6", "2027-06-30", fresh)
	if len(h.suspectsOf(h.captureOK(c.acme, rawDoc(eventAt(comm, "2026-01-07T10:00:00Z"))))) != 0 {
		t.Fatal("commissioning raised a suspect")
	}
	got = h.captureOK(c.acme, rawDoc(eventAt(comm, "2026-01-07T10:00:00Z", declaredAs("urn:uuid:6f0e3b7a-0000-4000-8000-000000000003", "did_not_occur"))))
	if len(h.suspectsOf(got)) != 0 || !got.Events[0].Declared {
		t.Fatalf("declaring a commissioning: %+v", got.Events)
	}
	if it := h.item(fresh); it.Status != supply.StatusVoid || it.Owner != "" || it.Lot != "" {
		t.Fatalf("a pack whose commissioning was declared erroneous: %+v", it)
	}
	if v := h.verifySerial("6002"); v.Answer != supply.AnswerSuspect {
		t.Fatalf("a void pack verifies as %+v", v)
	}
	h.wantSuspect("shipping a void pack", h.step(c.acme, shipEv(wholesalerParty, fresh)), supply.ReasonUnknownItem, []string{fresh})
	h.mustOK(h.sign(c.regulator, &supply.ReleaseBody{Items: []string{fresh}, Reason: "never left the plant"}))
	h.clean(c.acme, commissionEv("L6", "2027-06-30", fresh))
	if it := h.item(fresh); it.Status != supply.StatusActive || it.Owner != c.acme.ID {
		t.Fatalf("a void pack commissioned anew: %+v", it)
	}
	replayHashes(t, h)
}

// TestErrorDeclarationFirstCapturedAndMalformed: the standard's example of an erroneous
// event and its corrective event in one document, never captured before: the erroneous
// one is stored marked, with no custody effect, and names the corrective one. Malformed
// declarations are refused, naming the member.
func TestErrorDeclarationFirstCapturedAndMalformed(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()
	doc, err := os.ReadFile(filepath.Join(epcisExamples, "ErrorDeclarationAndCorrectiveEvent.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	got := h.captureOK(c.acme, doc)
	erroneous, corrective := h.event(got.Events[0].HashID), h.event(got.Events[1].HashID)
	if d := erroneous.Declaration; d == nil || d.Custody != supply.CustodyNone || !slices.Equal(d.Corrective, []string{corrective.HashID}) ||
		!slices.Equal(corrective.Corrects, []string{erroneous.HashID}) || corrective.Declaration != nil {
		t.Fatalf("erroneous %+v (%+v), corrective %+v", erroneous, erroneous.Declaration, corrective)
	}
	if bytes.Count(erroneous.Event, []byte(`"errorDeclaration"`)) != 1 {
		t.Fatalf("the event first captured with its declaration: %s", erroneous.Event)
	}
	// The corrective transformation made the output; the erroneous one made nothing.
	out := h.item("urn:epc:id:sgtin:4012345.033333.AGHFG")
	if out.Status != supply.StatusActive || len(out.Events) != 1 || out.Events[0] != supply.Digest(corrective.HashID) {
		t.Fatalf("the transformation's output: %+v", out)
	}

	base := eventAt(observeEv("storing", sgtinOf("7001")), "2026-01-08T10:00:00Z")
	for name, c2 := range map[string]struct{ ed, want string }{
		"no declarationTime":       {`{"reason":"did_not_occur"}`, "declarationTime is missing"},
		"local declarationTime":    {`{"declarationTime":"2026-02-01T00:00:00"}`, "not a date-time with its UTC offset"},
		"not an object":            {`"did_not_occur"`, "errorDeclaration is not an object"},
		"corrective ids not array": {`{"declarationTime":"2026-02-01T00:00:00Z","correctiveEventIDs":"urn:uuid:x"}`, "correctiveEventIDs is not an array"},
		"empty reason":             {`{"declarationTime":"2026-02-01T00:00:00Z","reason":""}`, "reason is not a non-empty string"},
	} {
		ev := strings.TrimSuffix(base, "}") + `,"errorDeclaration":` + c2.ed + `}`
		_, r := h.capture(c.acme, rawDoc(ev))
		wantCode(t, name, r, supply.Space, supply.CodeInvalid)
		if !strings.Contains(r.Log, c2.want) || !strings.Contains(r.Log, "event 0") {
			t.Fatalf("%s: %q does not say %q", name, r.Log, c2.want)
		}
	}
	replayHashes(t, h)
}

// TestQuarantineRelease: only a regulator releases, only what is quarantined, with a
// reason; a released pack moves again, a released destroyed pack still cannot.
func TestQuarantineRelease(t *testing.T) {
	h := newHarness(t)
	c := h.registerStory()
	good, burnt := sgtinOf("8001"), sgtinOf("8002")
	h.clean(c.acme, commissionEv("L8", "2027-06-30", good, burnt))
	h.clean(c.acme, observeEv("destroying", burnt))
	h.wantSuspect("unshipped receipt", h.step(c.wholesaler, observeEv("receiving", good)), supply.ReasonUnshippedReceipt, []string{good})
	h.wantSuspect("shipping a destroyed pack", h.step(c.acme, shipEv(wholesalerParty, burnt)), supply.ReasonRetiredMoved, []string{burnt})

	release := &supply.ReleaseBody{Items: []string{good, burnt}, Reason: "the receipt was a scanning error at the wholesaler"}
	for _, b := range []struct {
		name string
		by   *keys.Keystore
		body *supply.ReleaseBody
		code uint32
	}{
		{"the owner releases its own pack", c.acme, release, supply.CodeUnauthorized},
		{"the wholesaler", c.wholesaler, release, supply.CodeUnauthorized},
		{"the registrar", h.reg, release, supply.CodeUnauthorized},
		{"no reason", c.regulator, &supply.ReleaseBody{Items: []string{good}, Reason: "  "}, supply.CodeInvalid},
		{"no items", c.regulator, &supply.ReleaseBody{Reason: "x"}, supply.CodeInvalid},
		{"a pack named twice", c.regulator, &supply.ReleaseBody{Items: []string{good, "https://id.gs1.org/01/04012345123456/21/8001"}, Reason: "x"}, supply.CodeInvalid},
		{"a pack never on the ledger", c.regulator, &supply.ReleaseBody{Items: []string{good, sgtinOf("8999")}, Reason: "x"}, supply.CodeNotFound},
	} {
		wantCode(t, b.name, h.one(b.by, b.body), supply.Space, b.code)
	}
	if !h.item(good).Quarantined || supply.ReleaseCount(h.st.Committed()) != 0 {
		t.Fatal("a refused release released something")
	}

	h.mustOK(h.sign(c.regulator, release))
	rel := supply.GetRelease(h.st.Committed(), 1)
	if rel == nil || rel.By != c.regulator.ID || len(rel.Items) != 2 || len(rel.Suspects) != 2 || rel.Reason != release.Reason {
		t.Fatalf("the release record: %+v", rel)
	}
	for _, id := range []string{good, burnt} {
		if it := h.item(id); it.Quarantined || !slices.Equal(it.Releases, []uint64{1}) || len(it.Suspects) != 1 {
			t.Fatalf("%s after its release: %+v", id, it)
		}
	}
	if v := h.verifySerial("8001"); v.Answer != supply.AnswerGenuine {
		t.Fatalf("the released pack verifies as %+v", v)
	}
	wantCode(t, "releasing what is no longer quarantined", h.one(c.regulator, &supply.ReleaseBody{Items: []string{good}, Reason: "again"}), supply.Space, supply.CodeNotQuarantined)

	h.clean(c.acme, shipEv(wholesalerParty, good))
	h.clean(c.wholesaler, observeEv("receiving", good))
	h.wantSuspect("shipping the released destroyed pack", h.step(c.acme, shipEv(wholesalerParty, burnt)), supply.ReasonRetiredMoved, []string{burnt})
	replayHashes(t, h)
}

// TestCaptureClonedGTINIsSuspect: Globex commissions a serial of Acme's GTIN that Acme has not
// made yet: the capture stands, a not_owner suspect event names the pack, quarantined,
// and a pharmacist scanning it is told "suspect". When Acme then commissions its genuine
// pack of that serial it takes the record, which stays quarantined as a duplicate until
// the regulator releases it.
func TestCaptureClonedGTINIsSuspect(t *testing.T) {
	h := newHarness(t)
	c := h.registerSupply()
	got := h.captureOK(c.globex, commission(acmePrefix, "9001"))
	clone := "urn:epc:id:sgtin:4012345.012345.9001"
	h.wantSuspect("a cloned GTIN", h.suspectsOf(got), supply.ReasonNotOwner, []string{clone}, c.globex.ID)
	if it := h.item(clone); it.Status != supply.StatusUnknown || it.Owner != c.globex.ID {
		t.Fatalf("the clone's record: %+v", it)
	}
	if v := h.verifySerial("9001"); v.Answer != supply.AnswerSuspect {
		t.Fatalf("the clone verifies as %+v", v)
	}
	// Globex cannot make the clone genuine by commissioning it again.
	later := func(doc []byte, day string) []byte {
		return bytes.Replace(doc, []byte(`"eventTime":"2026-01-02T`), []byte(`"eventTime":"2026-01-`+day+`T`), 1)
	}
	h.wantSuspect("the clone commissioned again", h.suspectsOf(h.captureOK(c.globex, later(commission(acmePrefix, "9001"), "03"))), supply.ReasonDuplicateSerial, []string{clone}, c.globex.ID)

	// Acme's genuine pack of that serial: Acme takes the record, quarantined as a
	// duplicate; the regulator releases it and it moves.
	h.wantSuspect("Acme commissions the cloned serial", h.suspectsOf(h.captureOK(c.acme, later(commission(acmePrefix, "9001"), "04"))), supply.ReasonDuplicateSerial, []string{clone}, c.acme.ID)
	if it := h.item(clone); it.Status != supply.StatusActive || it.Owner != c.acme.ID {
		t.Fatalf("the serial after Acme commissioned it: %+v", it)
	}
	h.mustOK(h.sign(c.regulator, &supply.ReleaseBody{Items: []string{clone}, Reason: "Acme's pack is genuine; the clones were seized"}))
	h.clean(c.acme, shipEv(wholesalerParty, clone))

	// A clone of a pack Acme already made is a duplicate; Acme's record stays Acme's.
	h.captureOK(c.acme, commission(acmePrefix, "9002"))
	dup := "urn:epc:id:sgtin:4012345.012345.9002"
	h.wantSuspect("a clone of a commissioned pack", h.suspectsOf(h.captureOK(c.globex, later(commission(acmePrefix, "9002"), "05"))), supply.ReasonDuplicateSerial, []string{dup}, c.globex.ID, c.acme.ID)
	if it := h.item(dup); it.Owner != c.acme.ID || it.Status != supply.StatusActive {
		t.Fatalf("Acme's pack after the clone: %+v", it)
	}
	if v := h.verifySerial("9002"); v.Answer != supply.AnswerSuspect {
		t.Fatalf("a cloned pack verifies as %+v", v)
	}
	replayHashes(t, h)
}
