package epcis

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator checks capture documents against the GS1 EPCIS 2.0 JSON Schema. The schema
// is GS1's and is not part of this repository: the caller supplies its bytes.
type Validator struct{ schema *jsonschema.Schema }

// schemaURL is the schema's own $id, under which it is compiled.
const schemaURL = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"

// NewValidator compiles the EPCIS JSON Schema (draft-07) given as JSON.
func NewValidator(schemaJSON []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("EPCIS schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	c.UseRegexpEngine(schemaRegexp)
	c.RegisterFormat(&jsonschema.Format{Name: "uri", Validate: validateURI})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("EPCIS schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("EPCIS schema: %w", err)
	}
	return &Validator{schema: s}, nil
}

// Validate refuses a document that is not JSON or breaks the schema, naming the failing
// elements by JSON pointer (/epcisBody/eventList/0/action) and what is wrong there.
func (v *Validator) Validate(doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	return &SchemaError{Failures: leafFailures(ve)}
}

// validateURI is the "uri" format as JSON-LD uses it: an absolute URI (RFC 3986: a
// scheme, a colon, the rest without spaces) or a blank-node identifier ("_:document1"),
// which the standard's own examples use as document ids.
func validateURI(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if strings.HasPrefix(s, "_:") && len(s) > 2 {
		return nil
	}
	if !absoluteURI.MatchString(s) {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}

var absoluteURI = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^` + "`" + `]+$`)

// SchemaError lists where a document breaks the EPCIS schema.
type SchemaError struct{ Failures []Failure }

// Failure is one element that breaks the schema.
type Failure struct {
	Element string // JSON pointer of the failing element; "" is the document itself
	Message string
}

func (e *SchemaError) Error() string {
	parts := make([]string, 0, len(e.Failures))
	for _, f := range e.Failures {
		el := f.Element
		if el == "" {
			el = "(document)"
		}
		parts = append(parts, el+": "+f.Message)
	}
	return "EPCIS schema violation at " + strings.Join(parts, "; ")
}

var english = message.NewPrinter(language.English)

// leafFailures keeps the innermost causes, the ones that name the element at fault.
func leafFailures(ve *jsonschema.ValidationError) []Failure {
	var out []Failure
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		el := ""
		if len(e.InstanceLocation) > 0 {
			el = "/" + strings.Join(e.InstanceLocation, "/")
		}
		f := Failure{Element: el, Message: strings.TrimSpace(e.ErrorKind.LocalizedString(english))}
		if k := f.Element + "\x00" + f.Message; !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Element) > len(out[j].Element) })
	return out
}
