package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// HashPrefix and HashVersion frame an Event Hash ID as an RFC 6920 "ni" URI.
const (
	HashPrefix  = "ni:///sha-256;"
	HashVersion = "?ver=CBV2.0"
)

// Event is one event of a document with its Event Hash ID and pre-hash string.
type Event struct {
	Type    string
	HashID  string
	Prehash string
	// Raw is the event exactly as it appeared in the document.
	Raw *value
}

// HashID is the Event Hash ID of a pre-hash string.
func HashID(prehash string) string {
	sum := sha256.Sum256([]byte(prehash))
	return HashPrefix + hex.EncodeToString(sum[:]) + HashVersion
}

// HashDocument computes the Event Hash ID of every event of an EPCIS 2.0 JSON-LD
// document (capture document or query result), in document order. It fails on the
// first event that cannot be hashed, naming it.
func HashDocument(data []byte) ([]Event, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	return hashParsed(doc)
}

func hashParsed(doc *value) ([]Event, error) {
	if doc.kind != kindObject {
		return nil, errors.New("an EPCIS document must be a JSON object")
	}
	ns, err := contextNamespaces(doc)
	if err != nil {
		return nil, err
	}
	body := doc.get("epcisBody")
	if body == nil || body.kind != kindObject {
		return nil, errors.New("epcisBody: missing or not an object")
	}
	var list []*value
	switch {
	case body.get("eventList") != nil:
		el := body.get("eventList")
		if el.kind != kindArray {
			return nil, errors.New("epcisBody.eventList: not an array")
		}
		list = el.items
	case body.get("queryResults") != nil:
		el := body.get("queryResults").get("resultsBody").get("eventList")
		if el == nil || el.kind != kindArray {
			return nil, errors.New("epcisBody.queryResults.resultsBody.eventList: missing or not an array")
		}
		list = el.items
	case body.get("event") != nil:
		list = []*value{body.get("event")}
	default:
		return nil, errors.New("epcisBody: no eventList, queryResults or event")
	}
	// Raw copies are taken before bare-string expansion rewrites values in place.
	raws := make([]*value, len(list))
	for i, ev := range list {
		raws[i] = cloneValue(ev)
	}
	expanded := expandedVocabulary(body)
	replaceBareStrings(body, expanded)

	out := make([]Event, 0, len(list))
	for i, ev := range list {
		if ev.kind != kindObject {
			return nil, fmt.Errorf("event %d: not an object", i)
		}
		typ, _ := scalarText(orNull(ev.get("type")))
		ph, err := prehash(ev, ns)
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, typ, err)
		}
		out = append(out, Event{Type: typ, HashID: HashID(ph), Prehash: ph, Raw: raws[i]})
	}
	return out, nil
}

func orNull(v *value) *value {
	if v == nil {
		return &value{kind: kindNull}
	}
	return v
}

// contextNamespaces reads the prefixes a document declares in its @context, which name
// its user extensions ("example:myField" is {https://ns.example.com/epcis/}myField).
func contextNamespaces(doc *value) (namespaces, error) {
	ctx := doc.get("@context")
	if ctx == nil {
		return nil, errors.New("@context: missing")
	}
	items := ctx.items
	switch ctx.kind {
	case kindArray:
	case kindString, kindObject: // JSON-LD's one-entry context, as some clients write it
		items = []*value{ctx}
	default:
		return nil, errors.New("@context: must be a string, an object or an array (the EPCIS context and any prefix declarations)")
	}
	ns := namespaces{}
	for i, c := range items {
		switch c.kind {
		case kindString:
			ns[c.str] = "{" + c.str + "}"
		case kindObject:
			for _, m := range c.members {
				// A term definition (an object) declares no prefix; only IRIs do.
				if m.val.kind == kindString {
					ns[m.key] = "{" + m.val.str + "}"
				}
			}
		default:
			return nil, fmt.Errorf("@context[%d]: must be a string or an object", i)
		}
	}
	return ns, nil
}

func cloneValue(v *value) *value {
	c := *v
	if v.items != nil {
		c.items = make([]*value, len(v.items))
		for i, it := range v.items {
			c.items[i] = cloneValue(it)
		}
	}
	if v.members != nil {
		c.members = make([]member, len(v.members))
		for i, m := range v.members {
			c.members[i] = member{m.key, cloneValue(m.val)}
		}
	}
	return &c
}
