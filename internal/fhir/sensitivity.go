package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/ehrchain/ehrchain/internal/records"
)

// The sensitivity policy puts each resource in the consent category its codes call for, so
// that a patient who shares "general" records does not share psychiatric, substance-use,
// HIV, genetic or reproductive ones with them.
//
// Where the codes come from: the groups follow the sensitivity tags of HL7's Data
// Segmentation for Privacy (DS4P, v3 ActCode _InformationSensitivityPolicy: PSY, MH, SDV ->
// mental-health; ETH, SUD, OPIOIDUD -> substance-use; HIV -> hiv; SEX, STD -> reproductive;
// GDIS -> genetic) and the value sets US privacy segmentation uses for them (SAMHSA's
// Consent2Share sensitivity value sets; 42 CFR Part 2 for substance use disorder, which
// excludes tobacco). The concrete codes are those found by scanning the 40 Synthea bundles
// in ../shared/data/synthea-r4 (each marked "data"), plus the standard screening
// instruments and diagnoses newer Synthea versions and EHRs write. ICD-10-CM is matched by
// chapter and block (F, F10-F19, B20, O, Z30-Z3A, ...). CVX adds nothing: no vaccine is
// sensitive on its own. This is a starting policy: a hospital extends it for the codes of
// its own systems in HOME/config/fhir-sensitivity.json (see LoadPolicy).

// Category names of consent.DefaultCategories.
const (
	CatGeneral      = "general"
	CatMentalHealth = "mental-health"
	CatHIV          = "hiv"
	CatSubstanceUse = "substance-use"
	CatGenetic      = "genetic"
	CatReproductive = "reproductive"
)

// Code systems the policy reads.
const (
	SystemSNOMED  = "http://snomed.info/sct"
	SystemLOINC   = "http://loinc.org"
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemICD10   = "http://hl7.org/fhir/sid/icd-10"
	SystemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// sensitivityOrder ranks the categories from least to most sensitive, for a resource whose
// codes fall in several: substance use disorder records have the strictest US rule (42 CFR
// Part 2), then HIV (state laws requiring specific consent), psychiatric records, genetic
// information (GINA), reproductive health.
var sensitivityOrder = []string{CatGeneral, CatReproductive, CatGenetic, CatMentalHealth, CatHIV, CatSubstanceUse}

// alwaysGeneral are the types every grantee needs to make sense of the others: who the
// patient is and who wrote. Their codes (marital status, specialties) are not clinical.
var alwaysGeneral = []string{"Patient", "Organization", "Practitioner"}

// Policy maps codes to categories. The zero value knows no codes: everything is general.
type Policy struct {
	codes    map[coding]string
	prefixes map[string]map[string]string // system -> code prefix (no dots) -> category
	labels   map[coding]string            // meta.security labels
}

type coding struct{ system, code string }

// Classification is a resource's category and the coding that put it there.
type Classification struct {
	Category string
	System   string // empty for general
	Code     string
	Label    bool   // decided by a meta.security label
	Kept     uint32 // the record's version whose more sensitive category was kept
}

func (c Classification) String() string {
	if c.Kept > 0 {
		return fmt.Sprintf("%s (kept from version %d)", c.Category, c.Kept)
	}
	if c.System == "" {
		return c.Category
	}
	by := "code"
	if c.Label {
		by = "security label"
	}
	return fmt.Sprintf("%s (%s %s|%s)", c.Category, by, c.System, c.Code)
}

// Rank is a category's place in the sensitivity order; unknown categories rank above all
// known ones, so an extension's own category is never taken as less sensitive.
func Rank(category string) int {
	if i := slices.Index(sensitivityOrder, category); i >= 0 {
		return i
	}
	return len(sensitivityOrder)
}

// Add maps a code to a category (a hospital's extension of the policy).
func (p *Policy) Add(system, code, category string) {
	if p.codes == nil {
		p.codes = map[coding]string{}
	}
	p.codes[coding{system, code}] = category
}

// AddPrefix maps every code of a system that starts with prefix (dots ignored) to a
// category; the longest matching prefix wins.
func (p *Policy) AddPrefix(system, prefix, category string) {
	if p.prefixes == nil {
		p.prefixes = map[string]map[string]string{}
	}
	if p.prefixes[system] == nil {
		p.prefixes[system] = map[string]string{}
	}
	p.prefixes[system][strings.ReplaceAll(strings.ToUpper(prefix), ".", "")] = category
}

// AddLabel maps a meta.security label to a category.
func (p *Policy) AddLabel(system, code, category string) {
	if p.labels == nil {
		p.labels = map[coding]string{}
	}
	p.labels[coding{system, code}] = category
}

// lookup is the category of one coding, "" if the policy does not know it.
func (p *Policy) lookup(system, code string) string {
	if c, ok := p.codes[coding{system, code}]; ok {
		return c
	}
	rules := p.prefixes[system]
	if rules == nil {
		return ""
	}
	k := strings.ReplaceAll(strings.ToUpper(code), ".", "")
	for n := len(k); n > 0; n-- {
		if c, ok := rules[k[:n]]; ok {
			return c
		}
	}
	return ""
}

// Classify finds the category of a resource: the most sensitive category of any Coding in
// it (code, value, reasons, categories, claim items and diagnoses, contained resources;
// everything but meta) and of its meta.security labels. A label can only raise the
// category, never lower it below what the codes say. Patient, Organization and
// Practitioner are always general. Free text (narrative, CodeableConcept.text, notes) is
// not read.
func (p *Policy) Classify(o Object) Classification {
	best := Classification{Category: CatGeneral}
	if rt, _ := o["resourceType"].(string); slices.Contains(alwaysGeneral, rt) {
		return best
	}
	consider := func(c Classification) {
		if Rank(c.Category) > Rank(best.Category) {
			best = c
		}
	}
	if meta, ok := o["meta"].(Object); ok {
		sec, _ := meta["security"].([]any)
		for _, x := range sec {
			cd, _ := x.(Object)
			sys, _ := cd["system"].(string)
			code, _ := cd["code"].(string)
			if c, ok := p.labels[coding{sys, code}]; ok {
				consider(Classification{Category: c, System: sys, Code: code, Label: true})
			}
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case Object:
			if sys, ok := x["system"].(string); ok {
				if code, ok := x["code"].(string); ok {
					if c := p.lookup(sys, code); c != "" {
						consider(Classification{Category: c, System: sys, Code: code})
					}
				}
			}
			for k, val := range x {
				if k != "meta" {
					walk(val)
				}
			}
		case []any:
			for _, it := range x {
				walk(it)
			}
		}
	}
	walk(o)
	return best
}

// Sensitivity is the policy the gateway and the importer use unless given another.
var Sensitivity = DefaultPolicy()

// DefaultPolicy is the starting policy (see the comment at the top of this file).
func DefaultPolicy() *Policy {
	p := &Policy{}
	for _, g := range defaultCodes {
		for _, c := range g.codes {
			p.Add(g.system, c, g.category)
		}
	}
	for _, sys := range []string{SystemICD10CM, SystemICD10} {
		for prefix, cat := range icd10Blocks {
			p.AddPrefix(sys, prefix, cat)
		}
	}
	for code, cat := range actCodeLabels {
		p.AddLabel(SystemActCode, code, cat)
	}
	return p
}

// codeGroup is one row of the default table.
type codeGroup struct {
	category, system string
	codes            []string
}

// defaultCodes is the table. Deliberately left general, though they occur in the data:
// Alzheimer's disease, dementia care and the MMSE (neurological), smoking status, nicotine
// patches and smoking cessation (tobacco is outside Part 2), an alcohol-free diet (a diet,
// not a disorder), opioid analgesics prescribed for pain (oxycodone, hydrocodone,
// meperidine: a prescription is not a use disorder), sexual orientation and housing status
// (no category of ours fits them).
var defaultCodes = []codeGroup{
	// Mental health (DS4P PSY/MH; SDV, abuse and violence, is kept with it).
	{CatMentalHealth, SystemSNOMED, []string{
		"47505003",  // Posttraumatic stress disorder (data: Encounter.reasonCode)
		"79094001",  // Initial psychiatric interview with mental status and evaluation (data: Encounter.type, CarePlan, Claim)
		"736254008", // Psychiatry care plan (data: CarePlan.category)
		"171207006", // Depression screening (data: Procedure, Claim)
		"35489007",  // Depressive disorder
		"370143000", // Major depressive disorder
		"36923009",  // Major depression, single episode
		"197480006", // Anxiety disorder
		"13746004",  // Bipolar disorder
		"58214004",  // Schizophrenia
		"192127007", // Child attention deficit disorder
		"706893006", // Victim of intimate partner abuse (SDV)
	}},
	{CatMentalHealth, SystemLOINC, []string{
		"28245-9", // Abuse Status [OMAHA] (data: Observation; SDV)
		"55757-9", // PHQ-2 panel
		"55758-7", // PHQ-2 total score
		"44249-1", // PHQ-9 panel
		"44261-6", // PHQ-9 total score
		"69737-5", // GAD-7 panel
		"70274-6", // GAD-7 total score
	}},
	{CatMentalHealth, SystemRxNorm, []string{
		"328670", // Sertraline 100 MG (data: MedicationRequest)
	}},
	// Substance use (DS4P ETH/SUD/OPIOIDUD; 42 CFR Part 2, which excludes tobacco: smoking
	// status, nicotine patches and smoking cessation stay general).
	{CatSubstanceUse, SystemSNOMED, []string{
		"5602001",   // Opioid abuse (disorder) (data: Condition, Claim, EOB)
		"55680006",  // Drug overdose (data: Condition, Encounter.reasonCode, Claim)
		"56876005",  // Drug rehabilitation and detoxification (data: Encounter.type, Claim)
		"266707007", // Drug addiction therapy (data: CarePlan activity)
		"313071005", // Counseling for substance abuse (data: CarePlan activity)
		"408935001", // Substance abuse prevention education (data: CarePlan activity)
		"408936000", // Substance abuse prevention management (data: CarePlan activity)
		"60112009",  // Drug addiction counseling (data: CarePlan activity)
		"61480009",  // Drug detoxification (data: CarePlan activity)
		"7200002",   // Alcoholism
		"66590003",  // Alcohol dependence
		"15167005",  // Alcohol abuse
		"6525002",   // Dependent drug abuse
	}},
	{CatSubstanceUse, SystemLOINC, []string{
		"72109-2", // AUDIT-C panel
		"75626-2", // AUDIT-C total score
		"82666-9", // DAST-10 panel
		"82667-7", // DAST-10 total score
	}},
	// HIV (DS4P HIV).
	{CatHIV, SystemSNOMED, []string{
		"31676001",  // Human immunodeficiency virus antigen test (data: Procedure, Claim)
		"86406008",  // Human immunodeficiency virus infection
		"62479008",  // AIDS
		"165816005", // HIV positive
	}},
	{CatHIV, SystemLOINC, []string{
		"55277-8", // HIV status (data: Observation, social history)
		"75622-1", // HIV 1 and 2 tests - Meaningful Use set
		"7917-8",  // HIV 1 Ab [Presence] in Serum
		"56888-1", // HIV 1+2 Ab + HIV1 p24 Ag [Presence] in Serum or Plasma
	}},
	// Reproductive health (DS4P SEX; STD tests kept with it): pregnancy, prenatal and
	// postnatal care, termination, contraception.
	{CatReproductive, SystemSNOMED, []string{
		"72892002",        // Normal pregnancy (data: Condition, Encounter.reasonCode)
		"79586000",        // Tubal pregnancy (data)
		"19169002",        // Miscarriage in first trimester (data)
		"424441002",       // Prenatal initial visit (data: Encounter.type)
		"424619006",       // Prenatal visit (data)
		"169762003",       // Postnatal visit (data)
		"183460006",       // Obstetric emergency hospital admission (data)
		"10383002",        // Counseling for termination of pregnancy (data: Procedure)
		"386394001",       // Pregnancy termination care (data)
		"714812005",       // Induced termination of pregnancy (data: Claim)
		"252160004",       // Standard pregnancy test (data)
		"169230002",       // Ultrasound scan for fetal viability (data)
		"225158009",       // Auscultation of the fetal heart (data)
		"274804006",       // Evaluation of uterine fundal height (data)
		"271442007",       // Fetal anatomy study (data)
		"275833003",       // Alpha-fetoprotein test (data)
		"169673001",       // Antenatal RhD antibody screening (data)
		"11466000",        // Cesarean section (data)
		"31208007",        // Medical induction of labor (data)
		"134435003",       // Routine antenatal care (data: CarePlan)
		"135892000",       // Antenatal education (data)
		"312404004",       // Antenatal blood tests (data)
		"713076009",       // Antenatal risk assessment (data)
		"169553002",       // Insertion of subcutaneous contraceptive (data)
		"755621000000101", // Replacement of subcutaneous contraceptive (data: Claim)
		"65200003",        // Insertion of intrauterine contraceptive device (data: Claim)
		"46706006",        // Replacement of contraceptive intrauterine device (data)
		"165829005",       // Gonorrhea infection test (data; STD)
		"269828009",       // Syphilis infection test (data; STD)
		"310861008",       // Chlamydia antigen test (data; STD)
	}},
	{CatReproductive, SystemRxNorm, []string{ // contraceptives (data: MedicationRequest)
		"1000126", // medroxyprogesterone acetate 150 MG/ML injection
		"1367439", // NuvaRing
		"1534809", // ethinyl estradiol / norelgestromin transdermal system
		"1856546", // Kyleena intrauterine system
		"389221",  // Etonogestrel 68 MG drug implant
		"748856",  // Yaz
		"748879",  // Levora
		"748962",  // Camila
		"749762",  // Seasonique
		"751905",  // Trinessa
		"757594",  // Jolivette
		"807283",  // Mirena
		"978950",  // Natazia
	}},
	// Genetic (DS4P GDIS).
	{CatGenetic, SystemSNOMED, []string{
		"443529005", // Screening for chromosomal aneuploidy in prenatal amniotic fluid (data: Procedure, Claim)
	}},
	{CatGenetic, SystemLOINC, []string{
		"51969-4", // Genetic analysis report
		"81247-9", // Master HL7 genetic variant reporting panel
		"69548-6", // Genetic variant assessment
	}},
}

// icd10Blocks maps ICD-10(-CM) chapters and blocks (dots ignored; the longest prefix wins).
var icd10Blocks = map[string]string{
	"F":     CatMentalHealth, // F01-F99 mental, behavioral and neurodevelopmental disorders
	"F1":    CatSubstanceUse, // F10-F19 due to psychoactive substance use ...
	"F17":   CatGeneral,      // ... except nicotine dependence (not a Part 2 substance)
	"Z864":  CatSubstanceUse, // personal history of psychoactive substance abuse
	"Z7141": CatSubstanceUse, // alcohol abuse counseling
	"Z7151": CatSubstanceUse, // drug abuse counseling
	"O9931": CatSubstanceUse, // alcohol use complicating pregnancy
	"O9932": CatSubstanceUse, // drug use complicating pregnancy
	"Z865":  CatMentalHealth, // personal history of other mental and behavioral disorders
	"Z915":  CatMentalHealth, // personal history of self-harm
	"B20":   CatHIV,          // HIV disease
	"Z21":   CatHIV,          // asymptomatic HIV infection status
	"R75":   CatHIV,          // inconclusive laboratory evidence of HIV
	"Z114":  CatHIV,          // encounter for screening for HIV
	"Z717":  CatHIV,          // HIV counseling
	"O987":  CatHIV,          // HIV disease complicating pregnancy
	"O":     CatReproductive, // O00-O9A pregnancy, childbirth and the puerperium
	"Z30":   CatReproductive, // contraceptive management
	"Z31":   CatReproductive, // procreative management
	"Z32":   CatReproductive, // pregnancy examination and test
	"Z33":   CatReproductive, // pregnant state
	"Z34":   CatReproductive, // supervision of normal pregnancy
	"Z36":   CatReproductive, // antenatal screening
	"Z37":   CatReproductive, // outcome of delivery
	"Z39":   CatReproductive, // postpartum care
	"Z3A":   CatReproductive, // weeks of gestation
	"A5":    CatReproductive, // A50-A64 infections with a predominantly sexual mode of transmission ...
	"A60":   CatReproductive,
	"A63":   CatReproductive,
	"A64":   CatReproductive,
	"Z14":   CatGenetic, // genetic carrier
	"Z15":   CatGenetic, // genetic susceptibility to disease
	"Z3143": CatGenetic, // genetic testing of female for procreative management
	"Z3144": CatGenetic, // genetic testing of male for procreative management
}

// actCodeLabels maps DS4P sensitivity labels (meta.security, v3 ActCode) to categories.
var actCodeLabels = map[string]string{
	"PSY": CatMentalHealth, "PSYTHPN": CatMentalHealth, "MH": CatMentalHealth, "BH": CatMentalHealth,
	"SDV": CatMentalHealth,
	"ETH": CatSubstanceUse, "SUD": CatSubstanceUse, "ETHUD": CatSubstanceUse, "OPIOIDUD": CatSubstanceUse,
	"HIV": CatHIV,
	"SEX": CatReproductive, "STD": CatReproductive,
	"GDIS": CatGenetic,
}

// category decides the category a new version of a resource is written under: its own
// classification, but never less sensitive than the record's head (head nil for a new
// record). A correction that drops a psychiatric code thus stays mental-health: the earlier
// versions hold that content, and a downgrade would hand the record's history, existence
// and new content to everyone who may read the lower category. An update that adds a
// sensitive code moves the record up, and the ledger decides every read on the head's
// category, so the whole record leaves the reach of grants of the lower one.
func (g *Gateway) category(o Object, head *records.Meta) Classification {
	pol := g.Policy
	if pol == nil {
		pol = Sensitivity
	}
	cl := pol.Classify(o)
	if head != nil && Rank(head.Category) >= Rank(cl.Category) && head.Category != cl.Category {
		return Classification{Category: head.Category, Kept: head.Version}
	}
	return cl
}

// PolicyFile is the name, in a node's config directory, of the hospital's extension of the
// default policy. The importer and the gateway both read it, so they classify alike.
const PolicyFile = "fhir-sensitivity.json"

// policyFile is the extension's format: rows added to (or overriding) the default table.
type policyFile struct {
	Codes    []policyRow `json:"codes"`
	Prefixes []policyRow `json:"prefixes"` // ICD-style code prefixes, dots ignored
	Labels   []policyRow `json:"labels"`   // meta.security labels
}

type policyRow struct {
	System   string `json:"system"`
	Code     string `json:"code,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Category string `json:"category"`
}

// LoadPolicy is the default policy extended by the file at path, if there is one. A row
// must name a system, a code (or prefix) and one of the default categories, for which
// every patient has a key.
func LoadPolicy(path string) (*Policy, error) {
	p := DefaultPolicy()
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f policyFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	check := func(what string, i int, r policyRow, key string) error {
		switch {
		case r.System == "" || key == "":
			return fmt.Errorf("%s: %s[%d] needs a system and a code (a prefix in prefixes)", path, what, i)
		case !slices.Contains(sensitivityOrder, r.Category):
			return fmt.Errorf("%s: %s[%d] (%s|%s): category %q is not one of %v", path, what, i, r.System, key, r.Category, sensitivityOrder)
		}
		return nil
	}
	for i, r := range f.Codes {
		if err := check("codes", i, r, r.Code); err != nil {
			return nil, err
		}
		p.Add(r.System, r.Code, r.Category)
	}
	for i, r := range f.Prefixes {
		if err := check("prefixes", i, r, r.Prefix); err != nil {
			return nil, err
		}
		p.AddPrefix(r.System, r.Prefix, r.Category)
	}
	for i, r := range f.Labels {
		if err := check("labels", i, r, r.Code); err != nil {
			return nil, err
		}
		p.AddLabel(r.System, r.Code, r.Category)
	}
	return p, nil
}
