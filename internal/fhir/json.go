package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Object is a parsed FHIR JSON object. Numbers stay json.Number so decimals keep their
// exact digits (FHIR decimals are not floats).
type Object = map[string]any

// Parse decodes one JSON value strictly: numbers kept verbatim, duplicate keys and
// trailing data refused (FHIR JSON forbids both; encoding/json would keep the last key).
func Parse(b []byte) (Object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := parseValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	o, ok := v.(Object)
	if !ok {
		return nil, errors.New("a FHIR resource must be a JSON object")
	}
	return o, nil
}

const maxDepth = 128

func parseValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("unexpected end of JSON")
		}
		return nil, jsonErr(d, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Object{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, jsonErr(d, err)
				}
				k := kt.(string)
				if _, dup := o[k]; dup {
					return nil, fmt.Errorf("duplicate JSON property %q (at byte %d)", k, d.InputOffset())
				}
				v, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				o[k] = v
			}
			if _, err := d.Token(); err != nil {
				return nil, jsonErr(d, err)
			}
			return o, nil
		case '[':
			a := []any{}
			for d.More() {
				v, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, jsonErr(d, err)
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %q at byte %d", t, d.InputOffset())
	default:
		return t, nil
	}
}

func jsonErr(d *json.Decoder, err error) error {
	return fmt.Errorf("not well-formed JSON near byte %d: %v", d.InputOffset(), err)
}

// Marshal encodes a parsed resource compactly, keys sorted, without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
