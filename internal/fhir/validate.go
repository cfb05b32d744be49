package fhir

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// maxIssues bounds the issues reported for one resource.
const maxIssues = 50

// Validate parses raw and checks it against the R4 definitions: structure, unknown
// elements, JSON types, cardinality (required elements and arrays), primitive formats,
// required code bindings, narrative XHTML and a few invariants. It returns the parsed
// resource, or a *ValidationError naming each problem with its FHIRPath location.
func Validate(raw []byte) (Object, error) {
	o, err := Parse(raw)
	if err != nil {
		return nil, &ValidationError{Issues: []Issue{{Severity: "fatal", Code: "structure", Diagnostics: err.Error()}}}
	}
	if err := ValidateObject(o); err != nil {
		return nil, err
	}
	return o, nil
}

// ValidateObject validates a parsed resource (see Validate).
func ValidateObject(o Object) error {
	v := validator{t: r4()}
	v.resource(o, "")
	if len(v.issues) > 0 {
		return &ValidationError{Issues: v.issues}
	}
	return nil
}

type validator struct {
	t      *table
	issues []Issue
}

func (v *validator) add(code, path, format string, args ...any) {
	if len(v.issues) >= maxIssues {
		return
	}
	is := Issue{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if path != "" {
		is.Expression = []string{path}
	}
	v.issues = append(v.issues, is)
}

// resource validates a resource at path ("" for the top level).
func (v *validator) resource(o Object, path string) {
	rt, _ := o["resourceType"].(string)
	if rt == "" {
		v.add("structure", path, "a resource needs a resourceType string")
		return
	}
	if !v.t.resources[rt] {
		v.add("not-supported", path, "unknown resource type %q", rt)
		return
	}
	if path == "" {
		path = rt
	}
	v.object(rt, path, o, true)
	v.resourceInvariants(rt, path, o)
}

// object validates o against a node of the element table.
func (v *validator) object(nodePath, path string, o Object, isResource bool) {
	n := v.t.nodes[nodePath]
	if n == nil {
		v.add("exception", path, "no definition for %s", nodePath)
		return
	}
	if len(o) == 0 {
		v.add("structure", path, "an object must have content (empty objects are not allowed)")
		return
	}
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	present := map[*elem]bool{}
	for _, k := range keys {
		if isResource && k == "resourceType" {
			continue
		}
		name, ext := k, strings.HasPrefix(k, "_")
		if ext {
			name = k[1:]
		}
		e, ty := n.find(name)
		if e == nil {
			v.add("structure", path, "unrecognized element %q", k)
			continue
		}
		if e.Choice && present[e] && !ext && o["_"+name] == nil {
			v.add("structure", path+"."+e.Name+"[x]", "only one type may be given for a choice element")
		}
		present[e] = true
		if isResource && name == "id" {
			ty = "id" // Resource.id is an id; its definition says System.String
		}
		if ext {
			v.primitiveExt(ty, path+"."+name, o[k], e, o[name])
			continue
		}
		v.value(e, ty, path+"."+name, o[k], o["_"+name])
	}
	for _, e := range n.elems {
		if e.Min > 0 && !present[e] {
			name := e.Name
			if e.Choice {
				name += "[x]"
			}
			v.add("required", path+"."+name, "minimum required = %d, but only found 0", e.Min)
		}
	}
}

// find resolves a JSON property name to its element and concrete type.
func (n *node) find(name string) (*elem, string) {
	if e := n.byName[name]; e != nil {
		ty := ""
		if len(e.Types) == 1 {
			ty = e.Types[0]
		}
		return e, ty
	}
	for _, e := range n.choices {
		if !strings.HasPrefix(name, e.Name) || len(name) == len(e.Name) {
			continue
		}
		suffix := name[len(e.Name):]
		for _, t := range e.Types {
			if t == suffix || (len(t) > 0 && unicode.ToUpper(rune(t[0])) == rune(suffix[0]) && t[1:] == suffix[1:]) {
				return e, t
			}
		}
	}
	return nil, ""
}

// value checks an element's JSON value: array or single per cardinality, then each item.
func (v *validator) value(e *elem, ty, path string, val, extVal any) {
	if e.Max != 1 {
		arr, ok := val.([]any)
		if !ok {
			v.add("structure", path, "the property %s must be a JSON array, not %s", e.Name, kind(val))
			return
		}
		if len(arr) == 0 {
			v.add("structure", path, "array cannot be empty: the property should not be present if it has no values")
			return
		}
		if e.Max > 0 && len(arr) > e.Max {
			v.add("structure", path, "at most %d allowed, found %d", e.Max, len(arr))
		}
		extArr, _ := extVal.([]any)
		for i, it := range arr {
			p := fmt.Sprintf("%s[%d]", path, i)
			if it == nil {
				if i >= len(extArr) || extArr[i] == nil {
					v.add("structure", p, "null is only allowed where the matching _%s entry carries an extension", e.Name)
				}
				continue
			}
			v.item(e, ty, p, it)
		}
		return
	}
	if _, isArr := val.([]any); isArr {
		v.add("structure", path, "the property %s must be a single value, not a JSON array", e.Name)
		return
	}
	if val == nil {
		v.add("structure", path, "null is not allowed")
		return
	}
	v.item(e, ty, path, val)
}

func (v *validator) item(e *elem, ty, path string, val any) {
	switch {
	case ty == "" && e.Ref != "":
		o, ok := val.(Object)
		if !ok {
			v.add("structure", path, "must be a JSON object, not %s", kind(val))
			return
		}
		v.object(e.Ref, path, o, false)
	case ty == "Resource":
		o, ok := val.(Object)
		if !ok {
			v.add("structure", path, "must be a resource (a JSON object), not %s", kind(val))
			return
		}
		v.resource(o, path)
	case isPrimitive(ty):
		v.primitive(e, ty, path, val)
	case ty == "BackboneElement" || ty == "Element":
		o, ok := val.(Object)
		if !ok {
			v.add("structure", path, "must be a JSON object, not %s", kind(val))
			return
		}
		v.object(e.Ref, path, o, false)
	case ty != "":
		o, ok := val.(Object)
		if !ok {
			v.add("structure", path, "a %s must be a JSON object, not %s", ty, kind(val))
			return
		}
		v.object(ty, path, o, false)
		v.typeInvariants(ty, path, o)
	default:
		v.add("exception", path, "no type for element %s", e.Name)
	}
}

// primitiveExt checks the _name companion of a primitive: {id?, extension?} per value.
func (v *validator) primitiveExt(ty, path string, val any, e *elem, plain any) {
	check := func(p string, x any) {
		o, ok := x.(Object)
		if !ok {
			v.add("structure", p, "the _ companion of a primitive must be an object, not %s", kind(x))
			return
		}
		v.object("Element", p, o, false)
	}
	if ty == "" || !isPrimitive(ty) {
		v.add("structure", path, "only primitive elements have a _%s companion", e.Name)
		return
	}
	if e.Max != 1 {
		arr, ok := val.([]any)
		if !ok {
			v.add("structure", path, "_%s must be a JSON array", e.Name)
			return
		}
		if pa, ok := plain.([]any); ok && len(pa) != len(arr) {
			v.add("structure", path, "_%s must have as many entries as %s", e.Name, e.Name)
		}
		for i, x := range arr {
			if x != nil {
				check(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
		return
	}
	check(path, val)
}

func (v *validator) primitive(e *elem, ty, path string, val any) {
	switch ty {
	case "boolean":
		if _, ok := val.(bool); !ok {
			v.add("value", path, "a boolean must be JSON true or false, not %s", kind(val))
		}
		return
	case "integer", "unsignedInt", "positiveInt", "decimal":
		num, ok := val.(json.Number)
		if !ok {
			v.add("value", path, "a %s must be a JSON number, not %s", ty, kind(val))
			return
		}
		if ty == "decimal" {
			if !v.t.regex["decimal"].MatchString(string(num)) {
				v.add("value", path, "not a valid decimal: %s", num)
			}
			return
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		switch {
		case err != nil || n > 2147483647 || n < -2147483648:
			v.add("value", path, "not a valid 32-bit integer: %s", num)
		case ty == "unsignedInt" && n < 0, ty == "positiveInt" && n < 1:
			v.add("value", path, "%s must be a %s", num, ty)
		}
		return
	}
	s, ok := val.(string)
	if !ok {
		v.add("value", path, "a %s must be a JSON string, not %s", ty, kind(val))
		return
	}
	if ty == "xhtml" {
		if err := checkXHTML(s); err != nil {
			v.add("invariant", path, "txt-1: the narrative SHALL contain only the basic html formatting elements and attributes: %v", err)
		}
		return
	}
	if re := v.t.regex[ty]; re != nil && !re.MatchString(s) {
		v.add("value", path, "not a valid %s: %s", ty, show(s))
		return
	}
	switch ty {
	case "base64Binary":
		if _, err := base64.StdEncoding.DecodeString(stripSpace(s)); err != nil {
			v.add("value", path, "not valid base64: %v", err)
		}
	case "date", "dateTime", "instant":
		if _, _, err := parseFHIRTime(s); err != nil {
			v.add("value", path, "not a valid %s: %v", ty, err)
		}
	case "code":
		if e.codes != nil && !e.codes[s] {
			v.add("code-invalid", path, "the code %q is not in the required value set (one of %s)", s, strings.Join(e.Codes, ", "))
		}
	}
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case Object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func show(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// decimalCmp compares a JSON number with an integer bound exactly.
func decimalCmp(n json.Number, bound int64) (int, bool) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return 0, false
	}
	return r.Cmp(new(big.Rat).SetInt64(bound)), true
}
