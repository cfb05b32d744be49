package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
)

// HashCapture is HashDocument for a capture document: its events must be in
// epcisBody.eventList (a query result or a single event is not captured).
func HashCapture(data []byte) ([]Event, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	el := doc.get("epcisBody").get("eventList")
	if el == nil || el.kind != kindArray || len(el.items) == 0 {
		return nil, errors.New("epcisBody.eventList: a capture document carries a non-empty array of events")
	}
	return hashParsed(doc)
}

// The accessors below read an event as captured, with the member names exactly as the
// standard spells them: a contract that read "EPCLIST" as "epcList" (as encoding/json
// would) could be shown other identifiers than the ones hashed and stored.

// Text is the string member key of the event, or "" when it is absent or not a string.
func (e Event) Text(key string) string {
	if v := e.Raw.get(key); v != nil && v.kind == kindString {
		return v.str
	}
	return ""
}

// List is the strings of the array member key; with sub, the string member sub of each
// object in it (quantityList's epcClass). Items of another kind are skipped.
func (e Event) List(key, sub string) []string {
	v := e.Raw.get(key)
	if v == nil || v.kind != kindArray {
		return nil
	}
	var out []string
	for _, it := range v.items {
		if sub != "" {
			it = it.get(sub)
		}
		if it != nil && it.kind == kindString {
			out = append(out, it.str)
		}
	}
	return out
}

// JSON is the event as captured, re-encoded compactly with its members in document order
// and numbers as their literal text.
func (e Event) JSON() []byte {
	var b bytes.Buffer
	writeValue(&b, e.Raw)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v *value) {
	switch v.kind {
	case kindNull:
		b.WriteString("null")
	case kindBool:
		if v.boolean {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case kindNumber:
		b.WriteString(v.str)
	case kindString:
		writeString(b, v.str)
	case kindArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, it)
		}
		b.WriteByte(']')
	case kindObject:
		b.WriteByte('{')
		for i, m := range v.members {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.key)
			b.WriteByte(':')
			writeValue(b, m.val)
		}
		b.WriteByte('}')
	}
}

func writeString(b *bytes.Buffer, s string) {
	j, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always encodes
	}
	b.Write(j)
}

// Path is the string at the nested members keys (ilmd, lotNumber), or "".
func (e Event) Path(keys ...string) string {
	v := e.Raw
	for _, k := range keys {
		v = v.get(k)
	}
	if v != nil && v.kind == kindString {
		return v.str
	}
	return ""
}

// Pairs is, for each object of the array member key (sourceList, destinationList), its
// string members a and b; objects lacking either are skipped.
func (e Event) Pairs(key, a, b string) [][2]string {
	v := e.Raw.get(key)
	if v == nil || v.kind != kindArray {
		return nil
	}
	var out [][2]string
	for _, it := range v.items {
		x, y := it.get(a), it.get(b)
		if x != nil && y != nil && x.kind == kindString && y.kind == kindString {
			out = append(out, [2]string{x.str, y.str})
		}
	}
	return out
}

// DocumentContext is the @context of a document, compactly re-encoded as it appeared
// (nil when it has none): a query answer that carries an event must carry the namespaces
// its extension members are named in, or the event would expand, and hash, differently.
func DocumentContext(data []byte) ([]byte, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	c := doc.get("@context")
	if c == nil {
		return nil, nil
	}
	var b bytes.Buffer
	writeValue(&b, c)
	return b.Bytes(), nil
}
