package supply

import (
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/epcis"
)

// facts are the fields of an event the contract reads.
type facts struct {
	Type, Action, BizStep         string
	EPCList, QuantityClasses      []string
	OutputEPCs, OutputQuantityCls []string
	InputEPCs, InputQuantityCls   []string
	ParentID, Disposition         string
	BizLocation                   string // bizLocation.id
	ChildEPCs, ChildQuantityCls   []string
	Destinations                  [][2]string // type, destination
	LotNumber                     string      // ilmd.lotNumber (CBV master data)
	Expiry                        string      // ilmd.itemExpirationDate (YYYY-MM-DD)
	raw                           []byte      // the event as captured
	eventID                       string      // the capturer's eventID, if any
	decl                          *declared   // its errorDeclaration, if any
}

func factsOf(ev epcis.Event) facts {
	return facts{Type: ev.Text("type"), Action: ev.Text("action"), BizStep: ev.Text("bizStep"),
		EPCList: ev.List("epcList", ""), QuantityClasses: ev.List("quantityList", "epcClass"),
		OutputEPCs: ev.List("outputEPCList", ""), OutputQuantityCls: ev.List("outputQuantityList", "epcClass"),
		InputEPCs: ev.List("inputEPCList", ""), InputQuantityCls: ev.List("inputQuantityList", "epcClass"),
		ParentID: ev.Text("parentID"), Disposition: ev.Text("disposition"), BizLocation: ev.Path("bizLocation", "id"),
		ChildEPCs: ev.List("childEPCs", ""), ChildQuantityCls: ev.List("childQuantityList", "epcClass"),
		Destinations: ev.Pairs("destinationList", "type", "destination"),
		LotNumber:    lotNumber(ev),
		Expiry:       masterData(ev, "itemExpirationDate"),
		raw:          ev.JSON(),
		eventID:      ev.Text("eventID")}
}

// lotNumber is CBV's lotNumber master data of an event, in its bare or web-URI name.
func lotNumber(ev epcis.Event) string { return masterData(ev, "lotNumber") }

// masterData is one CBV instance/lot master data attribute (ilmd) of an event, by its
// bare or cbvmda: name.
func masterData(ev epcis.Event, name string) string {
	if l := ev.Path("ilmd", name); l != "" {
		return l
	}
	return ev.Path("ilmd", "cbvmda:"+name)
}

// lotOf is the lot (LGTIN) an SGTIN commissioned with lot master data belongs to.
func (f *facts) lotOf(canon string) string {
	const root = "https://id.gs1.org/01/"
	rest, ok := strings.CutPrefix(canon, root)
	if !ok || f.LotNumber == "" {
		return ""
	}
	gtin, serial, ok := strings.Cut(rest, "/21/")
	if !ok || serial == "" {
		return ""
	}
	return CanonicalID(root + gtin + "/10/" + f.LotNumber)
}

// commissioned lists the identifiers an event brings into existence as the custody contract
// commissions them (Decide): an ObjectEvent ADD at commissioning, or a TransformationEvent's
// outputs. The lot index lists them whatever the contract then decides about each.
func (f *facts) commissioned() []string {
	switch {
	case f.Type == "ObjectEvent" && strings.EqualFold(f.Action, "ADD") && bizStep(f.BizStep) == "commissioning":
		return append(slices.Clone(f.EPCList), f.QuantityClasses...)
	case f.Type == "TransformationEvent":
		return append(slices.Clone(f.OutputEPCs), f.OutputQuantityCls...)
	}
	return nil
}
