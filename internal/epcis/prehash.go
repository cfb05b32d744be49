package epcis

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// order is the CBV 2.0 canonical property order: the fields, and the order of their
// children, that the pre-hash string takes first. Everything else (user extensions and
// the fields the reference leaves to the generic pass) follows, sorted.
type order struct {
	name string
	sub  []order
	// keep marks bizTransactionList, sourceList and destinationList: the ordered pass
	// passes over them (as the reference does) and the generic pass writes them.
	keep bool
}

var quantityElement = []order{{name: "quantityElement", sub: []order{{name: "epcClass"}, {name: "quantity"}, {name: "uom"}}}}

var propertyOrder = []order{
	{name: "eventTime"},
	{name: "eventTimeZoneOffset"},
	{name: "certificationInfo"},
	{name: "parentID"},
	{name: "epcList", sub: []order{{name: "epc"}}},
	{name: "inputEPCList", sub: []order{{name: "epc"}}},
	{name: "childEPCs", sub: []order{{name: "epc"}}},
	{name: "quantityList", sub: quantityElement},
	{name: "childQuantityList", sub: quantityElement},
	{name: "inputQuantityList", sub: quantityElement},
	{name: "outputEPCList", sub: []order{{name: "epc"}}},
	{name: "outputQuantityList", sub: quantityElement},
	{name: "action"},
	{name: "transformationID"},
	{name: "bizStep"},
	{name: "disposition"},
	{name: "persistentDisposition", sub: []order{{name: "set"}, {name: "unset"}}},
	{name: "readPoint", sub: []order{{name: "id"}}},
	{name: "bizLocation", sub: []order{{name: "id"}}},
	{name: "bizTransactionList", keep: true},
	{name: "sourceList", keep: true},
	{name: "destinationList", keep: true},
	{name: "sensorElementList", sub: []order{{name: "sensorElement", sub: []order{
		{name: "sensorMetadata", sub: leaves("time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules")},
		{name: "sensorReport", sub: leaves("type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism " +
			"chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue minValue maxValue meanValue " +
			"sDev percRank percValue uom coordinateReferenceSystem")},
	}}}},
}

func leaves(names string) []order {
	var o []order
	for _, n := range strings.Fields(names) {
		o = append(o, order{name: n})
	}
	return o
}

// notHashed are event fields outside the hash: recordTime and eventID are assigned by
// a repository, and an error declaration must leave the declared event's hash unchanged.
var notHashed = []string{"recordTime", "eventID", "type", "errorDeclaration"}

type prehasher struct{ err error }

func (p *prehasher) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func remove(list *[]*node, n *node) {
	if i := slices.Index(*list, n); i >= 0 {
		*list = slices.Delete(*list, i, i+1)
	}
}

// ordered writes the children named in ord, in that order, consuming what it writes;
// what it leaves is written by generic afterwards.
func (p *prehasher) ordered(list *[]*node, ord []order) string {
	var b strings.Builder
	ext := gatherExtensions(list)
	for _, o := range ord {
		var matched []*node
		for _, c := range *list {
			if !c.pair && c.name == o.name {
				matched = append(matched, c)
			}
		}
		var vals []string
		for _, c := range matched {
			if !o.keep {
				if s := p.child(c, o.sub); s != "" {
					vals = append(vals, s)
				}
			}
			if len(c.kids) == 0 {
				remove(list, c)
			}
		}
		sort.Strings(vals)
		b.WriteString(strings.Join(vals, ""))
	}
	if len(ext) > 0 {
		b.WriteString(p.generic(ext))
	}
	return b.String()
}

// gatherExtensions takes out the user extensions of a standard field with an extension
// point (readPoint, sensorReport, ...), to be written after its standard children.
func gatherExtensions(list *[]*node) []*node {
	if len(*list) <= 1 {
		return nil
	}
	for _, c := range *list {
		if strings.Contains(c.name, "eventTime") || strings.Contains(c.name, "action") {
			return nil
		}
	}
	var ext []*node
	for _, c := range *list {
		if !c.pair && strings.Contains(c.name, "{") && strings.Contains(c.name, "/}") {
			ext = append(ext, c)
		}
	}
	for _, c := range ext {
		remove(list, c)
	}
	return ext
}

func (p *prehasher) child(c *node, sub []order) string {
	grand := ""
	if len(sub) > 0 {
		grand = p.ordered(&c.kids, sub)
	}
	text := ""
	if c.val != "" {
		text = pyStrip(c.val)
		lower := strings.ToLower(c.name)
		if strings.Contains(lower, "time") && !strings.Contains(lower, "offset") {
			t, err := canonicalTime(text)
			if err != nil {
				p.fail(fmt.Errorf("%s: %w", c.name, err))
			}
			text = t
		} else {
			text = p.canonical(text)
		}
		if text != "" {
			text = "=" + text
		}
	}
	if text != "" || grand != "" {
		return c.name + text + grand
	}
	return ""
}

// generic writes fields outside the canonical order: name=value, children after,
// siblings sorted (except the parts of one bizTransaction, source or destination).
func (p *prehasher) generic(children []*node) string {
	vals := make([]string, 0, len(children))
	for _, c := range children {
		if c.pair {
			vals = append(vals, p.generic(c.kids))
			continue
		}
		text := pyStrip(c.val)
		if text != "" {
			text = "=" + p.canonical(text)
		}
		vals = append(vals, c.name+text+p.generic(c.kids))
	}
	if len(children) > 1 && shouldSort(children) {
		sort.Strings(vals)
	}
	return strings.Join(vals, "")
}

func shouldSort(children []*node) bool {
	for _, c := range children {
		if !c.pair && slices.Contains(unorderedKeys, c.name) {
			return false
		}
	}
	return true
}

var webVocabulary = strings.NewReplacer(
	"urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-",
	"urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-",
	"urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-",
	"urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-",
	"urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-",
)

// canonical applies the value rules: CBV URNs become web URIs, numbers lose trailing
// zeros, GS1 identifiers become canonical Digital Link URIs.
func (p *prehasher) canonical(text string) string {
	text = webVocabulary.Replace(text)
	t, err := canonicalNumber(text)
	if err != nil {
		p.fail(err)
	}
	if dl := NormaliseID(t); dl != "" {
		return dl
	}
	return t
}

// prehash is the pre-hash string of one event (already bare-string expanded).
func prehash(ev *value, ns namespaces) (string, error) {
	n, err := toNode(ev, ns)
	if err != nil {
		return "", err
	}
	if n, err = correctStructure(n); err != nil {
		return "", err
	}
	p := &prehasher{}
	s := "eventType=" + n.name + p.ordered(&n.kids, propertyOrder)
	var rest []*node
	for _, c := range n.kids {
		if c.pair || !slices.Contains(notHashed, c.name) {
			rest = append(rest, c)
		}
	}
	if len(rest) > 0 {
		s += p.generic(rest)
	}
	return s, p.err
}
