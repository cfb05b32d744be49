package epcis

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// node is the reference implementation's simple model of an event: a name, a text value
// and children, the shape an XML element has. JSON is mapped onto it so that the same
// event in XML or JSON-LD gives the same hash. A pair holds one bizTransaction, source
// or destination (its children in document order).
type node struct {
	name string
	val  string
	kids []*node
	pair bool
}

func compareNodes(a, b *node) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := strings.Compare(a.val, b.val); c != 0 {
		return c
	}
	return slices.CompareFunc(a.kids, b.kids, compareNodes)
}

// namespaces maps a JSON-LD prefix to "{iri}", as declared in the document's @context.
type namespaces map[string]string

func (ns namespaces) replace(text string, isValue bool) string {
	p, rest, ok := strings.Cut(text, ":")
	if !ok {
		return text
	}
	iri, found := ns[p]
	if !found {
		return text
	}
	if isValue {
		return strings.NewReplacer("{", "", "}", "").Replace(iri) + rest
	}
	return iri + rest
}

// unorderedKeys are members whose object keeps document order: the reference does not
// sort an object holding one of them.
var unorderedKeys = []string{"bizTransaction", "source", "destination"}

func toNode(v *value, ns namespaces) (*node, error) {
	n := &node{}
	switch v.kind {
	case kindArray:
		for _, it := range v.items {
			c, err := toNode(it, ns)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, c)
		}
	case kindObject:
		if t := v.get("type"); t != nil {
			s, err := scalarText(t)
			if err != nil {
				return nil, err
			}
			n.name = s
		}
		if t := v.get("#text"); t != nil {
			s, err := scalarText(t)
			if err != nil {
				return nil, err
			}
			n.val = s
		}
		keep := false
		for _, m := range v.members {
			switch m.key {
			case "#text", "rdfs:comment", "comment":
				continue
			}
			if slices.Contains(unorderedKeys, m.key) {
				keep = true
			}
			if strings.HasPrefix(m.key, "@xmlns") {
				s, err := scalarText(m.val)
				if err != nil {
					return nil, err
				}
				ns[pySliceFrom(m.key, 7)] = "{" + s + "}"
				n.name = ns.replace(n.name, false)
				continue
			}
			c, err := toNode(m.val, ns)
			if err != nil {
				return nil, err
			}
			key := ns.replace(m.key, false)
			if m.val.kind == kindArray {
				for _, el := range c.kids {
					n.kids = append(n.kids, &node{name: key, val: el.val, kids: el.kids})
				}
			} else {
				n.kids = append(n.kids, &node{name: key, val: c.val, kids: c.kids})
			}
		}
		if !keep {
			slices.SortStableFunc(n.kids, compareNodes)
		}
	default:
		s, err := scalarText(v)
		if err != nil {
			return nil, err
		}
		if v.kind == kindString {
			s = ns.replace(s, true)
		}
		n.val = s
	}
	return n, nil
}

// scalarText is the text Python's str() gives a JSON scalar, as the reference sees it.
func scalarText(v *value) (string, error) {
	switch v.kind {
	case kindString:
		return v.str, nil
	case kindNull:
		return "None", nil
	case kindBool:
		if v.boolean {
			return "True", nil
		}
		return "False", nil
	case kindNumber:
		if strings.ContainsAny(v.str, ".eE") {
			f, ok := pyParseFloat(v.str)
			if !ok {
				return "", fmt.Errorf("number %s cannot be read", v.str)
			}
			return pyFloatRepr(f), nil
		}
		i, ok := new(big.Int).SetString(v.str, 10)
		if !ok {
			return "", fmt.Errorf("number %s cannot be read", v.str)
		}
		return i.String(), nil
	}
	return "", fmt.Errorf("expected a scalar value, found an object or array")
}

// pairLists hold bizTransaction, source and destination entries, whose two parts (the
// identifier and its type) stay together.
var pairLists = []string{"sourceList", "destinationList", "bizTransactionList"}

// correctStructure maps the JSON shape onto the XML shape the property order is written
// for: "xList": [a, b] becomes an xList with x children, childEPCs gather under one
// element, and inputEPC, childQuantity and the like take their XML names.
func correctStructure(n *node) (*node, error) {
	type group struct {
		name  string
		elems []*node
	}
	var groups []*group
	var rest []*node
	for _, c := range n.kids {
		if !c.pair && strings.HasSuffix(c.name, "List") {
			var g *group
			for _, x := range groups {
				if x.name == c.name {
					g = x
				}
			}
			if g == nil {
				g = &group{name: c.name}
				groups = append(groups, g)
			}
			g.elems = append(g.elems, &node{name: strings.TrimSuffix(c.name, "List"), val: c.val, kids: c.kids})
			continue
		}
		rest = append(rest, c)
	}
	for _, g := range groups {
		if slices.Contains(pairLists, g.name) {
			var pairs []*node
			for _, e := range g.elems {
				if len(e.kids) == 0 {
					return nil, fmt.Errorf("%s: each entry must be an object with the identifier and its type", g.name)
				}
				pairs = append(pairs, &node{pair: true, kids: e.kids})
			}
			rest = append(rest, &node{name: g.name, kids: pairs})
		} else {
			rest = append(rest, &node{name: g.name, kids: g.elems})
		}
	}
	var kids []*node
	var childEPCs []*node
	for _, c := range rest {
		if !c.pair && c.name == "childEPCs" {
			childEPCs = append(childEPCs, &node{name: "epc", val: c.val})
			continue
		}
		kids = append(kids, c)
	}
	if len(childEPCs) > 0 {
		kids = append(kids, &node{name: "childEPCs", kids: childEPCs})
	}
	out := &node{name: n.name, val: n.val, pair: n.pair}
	for _, c := range kids {
		if c.pair || slices.Contains(pairLists, c.name) {
			out.kids = append(out.kids, c)
			continue
		}
		cc, err := correctStructure(c)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, cc)
	}
	switch {
	case out.name == "inputEPC" || out.name == "outputEPC":
		out.name = "epc"
	case out.name == "inputQuantity" || out.name == "outputQuantity" || out.name == "childQuantity" ||
		(out.name == "quantity" && len(out.kids) > 0):
		out.name = "quantityElement"
	}
	return out, nil
}
