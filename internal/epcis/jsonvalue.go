package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// value is a decoded JSON value that keeps the order of object members: the Event Hash
// ID depends on it in one place (the members of a bizTransaction, source or
// destination), and duplicate member names are refused rather than silently merged.
type value struct {
	kind    kind
	str     string   // string, or the literal text of a number
	boolean bool     // bool
	items   []*value // array
	members []member // object, in document order
}

type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

type member struct {
	key string
	val *value
}

func (v *value) get(key string) *value {
	if v == nil || v.kind != kindObject {
		return nil
	}
	for _, m := range v.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// maxDepth bounds nesting so that a hostile document cannot exhaust the stack.
const maxDepth = 64

// parseJSON decodes one JSON document with numbers kept as their literal text.
func parseJSON(data []byte) (*value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0, "$")
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: trailing data after the document")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int, path string) (*value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("malformed JSON: %s nests deeper than %d levels", path, maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON at %s: %v", path, err)
	}
	switch t := tok.(type) {
	case nil:
		return &value{kind: kindNull}, nil
	case bool:
		return &value{kind: kindBool, boolean: t}, nil
	case json.Number:
		return &value{kind: kindNumber, str: t.String()}, nil
	case string:
		return &value{kind: kindString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &value{kind: kindArray}
			for dec.More() {
				item, err := decodeValue(dec, depth+1, fmt.Sprintf("%s[%d]", path, len(v.items)))
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("malformed JSON at %s: %v", path, err)
			}
			return v, nil
		case '{':
			v := &value{kind: kindObject}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("malformed JSON at %s: %v", path, err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("malformed JSON at %s: member name is not a string", path)
				}
				if seen[key] {
					return nil, fmt.Errorf("malformed JSON: %s has member %q twice", path, key)
				}
				seen[key] = true
				val, err := decodeValue(dec, depth+1, path+"."+key)
				if err != nil {
					return nil, err
				}
				v.members = append(v.members, member{key, val})
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("malformed JSON at %s: %v", path, err)
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("malformed JSON at %s: unexpected %v", path, tok)
}
