package supply

import (
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
		raw:          ev.JSON()}
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

// commissioning says whether a bizStep is CBV's commissioning, in any of its spellings.
func commissioning(bizStep string) bool {
	for _, p := range []string{"", "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"} {
		if bizStep == p+"commissioning" {
			return true
		}
	}
	return false
}

// commissioned lists the identifiers an event brings into existence: an ObjectEvent ADD
// at commissioning, or a TransformationEvent's outputs at commissioning.
func (f *facts) commissioned() []string {
	if !commissioning(f.BizStep) {
		return nil
	}
	switch {
	case f.Type == "ObjectEvent" && strings.EqualFold(f.Action, "ADD"):
		return append(append([]string(nil), f.EPCList...), f.QuantityClasses...)
	case f.Type == "TransformationEvent":
		return append(append([]string(nil), f.OutputEPCs...), f.OutputQuantityCls...)
	}
	return nil
}

// foreignCommission is the first identifier the event commissions outside prefixes. A
// GS1 key is the company's whose prefix begins it; what is no GS1 key (a private URI)
// belongs to no company and is not refused here.
func (f *facts) foreignCommission(prefixes []string) (string, bool) {
	for _, id := range f.commissioned() {
		if _, gs1 := companyDigits(id); gs1 && !owns(prefixes, id) {
			return id, true
		}
	}
	return "", false
}
