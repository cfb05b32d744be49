package supply

import "strings"

// facts are the fields of an event the contract reads.
type facts struct {
	Type               string     `json:"type"`
	Action             string     `json:"action"`
	BizStep            string     `json:"bizStep"`
	EPCList            []string   `json:"epcList"`
	QuantityList       []quantity `json:"quantityList"`
	OutputEPCList      []string   `json:"outputEPCList"`
	OutputQuantityList []quantity `json:"outputQuantityList"`
	raw                []byte
}

type quantity struct {
	EPCClass string `json:"epcClass"`
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
	var ids []string
	switch {
	case f.Type == "ObjectEvent" && strings.EqualFold(f.Action, "ADD"):
		ids = append(ids, f.EPCList...)
		for _, q := range f.QuantityList {
			ids = append(ids, q.EPCClass)
		}
	case f.Type == "TransformationEvent":
		ids = append(ids, f.OutputEPCList...)
		for _, q := range f.OutputQuantityList {
			ids = append(ids, q.EPCClass)
		}
	}
	return ids
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
