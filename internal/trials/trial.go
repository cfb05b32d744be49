package trials

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Outcome is one pre-specified outcome measure and the time frame it is assessed over.
type Outcome struct {
	Measure   string `json:"measure"`
	TimeFrame string `json:"time_frame"`
}

// Outcomes are a protocol's pre-specified outcomes.
type Outcomes struct {
	Primary   []Outcome `json:"primary"`
	Secondary []Outcome `json:"secondary,omitempty"`
}

// Arm is one arm (group) of the trial.
type Arm struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Site is a place where participants are enrolled, and the investigator (a provider) there.
type Site struct {
	Name         string `json:"name"`
	Investigator string `json:"investigator"`
}

// Protocol is what a sponsor registers, and what each amendment restates in full.
type Protocol struct {
	Digest            string   `json:"protocol_sha256"` // SHA-256 of the protocol document, hex
	Outcomes          Outcomes `json:"outcomes"`
	PlannedEnrolment  uint32   `json:"planned_enrolment"`
	Arms              []Arm    `json:"arms"`
	Sites             []Site   `json:"sites"`
	PrimaryCompletion string   `json:"primary_completion"` // YYYY-MM-DD
	ResearchStudy     []byte   `json:"research_study"`     // FHIR R4 ResearchStudy JSON, exactly as given
	// Categories are the record categories (consent categories) the protocol collects. A
	// consent form may name no other; empty: each consent form names its own.
	Categories []string `json:"categories,omitempty"`
}

// Signature is an electronic signature's manifestation (21 CFR 11.50): who signed, their
// printed name, when, and what the signature means, with the signer's reason. The envelope
// signature over the transaction body binds it to the record (11.70).
type Signature struct {
	Signer  string    `json:"signer"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Meaning Meaning   `json:"meaning"`
	Reason  string    `json:"reason"`
	Height  int64     `json:"height"`
	Time    time.Time `json:"time"`
	Tx      string    `json:"tx"`
}

// Meaning is what an electronic signature means.
type Meaning string

// Meanings (21 CFR 11.50(a)(3)).
const (
	Author   Meaning = "author"
	Approval Meaning = "approval"
	Review   Meaning = "review"
)

// Version is one stored protocol version. Versions are numbered from 1 and never change.
type Version struct {
	Number    uint32 `json:"version"`
	Protocol  `json:"protocol"`
	Signature Signature `json:"signature"`
	// Changes lists what this version changed from the one before (none for version 1).
	Changes []string `json:"changes,omitempty"`
	// OutcomeSwitch is set when the primary outcomes changed after enrolment started.
	OutcomeSwitch bool `json:"outcome_switch,omitempty"`
}

// Trial is a trial's head record: who is responsible, which version is in force, and the
// facts the transparency rules need.
type Trial struct {
	ID                string    `json:"id"`
	Sponsor           string    `json:"sponsor"`
	IRB               string    `json:"irb"`
	Head              uint32    `json:"head"`      // newest protocol version
	Approved          uint32    `json:"approved"`  // newest version the IRB approved; 0: none
	Decisions         uint32    `json:"decisions"` // IRB decisions recorded
	PrimaryCompletion string    `json:"primary_completion"`
	RegisteredAt      int64     `json:"registered_at"`
	RegisteredTime    time.Time `json:"registered_time"`
	Enrolled          uint32    `json:"enrolled"`
	FirstEnrolment    int64     `json:"first_enrolment,omitempty"` // height; 0: none yet
	// Baseline is the version in force when the first participant was enrolled: its
	// outcomes are the pre-specified ones results are compared with.
	Baseline uint32 `json:"baseline,omitempty"`
	// ConsentForm is the newest IRB-approved consent-form version (0: none): the one in
	// force, which every participant must have signed before data is recorded.
	ConsentForm     uint32    `json:"consent_form,omitempty"`
	Withdrawn       uint32    `json:"withdrawn,omitempty"`    // participants who withdrew
	Observations    uint32    `json:"observations,omitempty"` // trial observations recorded
	Exports         uint32    `json:"exports,omitempty"`      // dataset export events
	Results         uint32    `json:"results"`                // result postings so far
	FirstResults    time.Time `json:"first_results,omitzero"`
	Discrepancies   uint32    `json:"discrepancies"`
	OutcomeSwitches uint32    `json:"outcome_switches"`
}

// Limits on what a registration may hold.
const (
	maxOutcomes  = 64
	maxArms      = 32
	maxSites     = 256
	maxText      = 1024
	maxStudy     = 128 << 10
	maxReason    = 1024
	maxEnrolment = 10_000_000
	maxCats      = 16
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseDate validates a calendar date (YYYY-MM-DD) and returns its start in UTC.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// validate checks a protocol's fields; it does not look at state.
func (p *Protocol) validate() *tx.Error {
	if len(p.Digest) != 64 || strings.ToLower(p.Digest) != p.Digest {
		return Space.Err(CodeInvalid, "protocol_sha256 %q: want the document's SHA-256 as 64 lowercase hex digits", p.Digest)
	}
	if _, err := hex.DecodeString(p.Digest); err != nil {
		return Space.Err(CodeInvalid, "protocol_sha256 %q: want the document's SHA-256 as 64 lowercase hex digits", p.Digest)
	}
	if len(p.Outcomes.Primary) == 0 {
		return Space.Err(CodeInvalid, "a protocol pre-specifies at least one primary outcome")
	}
	if n := len(p.Outcomes.Primary) + len(p.Outcomes.Secondary); n > maxOutcomes {
		return Space.Err(CodeInvalid, "%d outcomes: a protocol pre-specifies at most %d", n, maxOutcomes)
	}
	seen := map[string]bool{}
	for _, list := range []struct {
		kind string
		os   []Outcome
	}{{"primary", p.Outcomes.Primary}, {"secondary", p.Outcomes.Secondary}} {
		for i, o := range list.os {
			if err := checkText(fmt.Sprintf("%s outcome %d measure", list.kind, i+1), o.Measure, maxText, true); err != nil {
				return err
			}
			if err := checkText(fmt.Sprintf("%s outcome %d time frame", list.kind, i+1), o.TimeFrame, maxText, true); err != nil {
				return err
			}
			k := measureKey(o.Measure)
			if seen[k] {
				return Space.Err(CodeInvalid, "outcome %q is pre-specified twice; each measure appears once", o.Measure)
			}
			seen[k] = true
		}
	}
	if p.PlannedEnrolment == 0 || p.PlannedEnrolment > maxEnrolment {
		return Space.Err(CodeInvalid, "planned enrolment %d: want 1 to %d participants", p.PlannedEnrolment, maxEnrolment)
	}
	if len(p.Arms) == 0 || len(p.Arms) > maxArms {
		return Space.Err(CodeInvalid, "a protocol has 1 to %d arms", maxArms)
	}
	arms := map[string]bool{}
	for i, a := range p.Arms {
		if err := checkText(fmt.Sprintf("arm %d name", i+1), a.Name, 128, true); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("arm %d description", i+1), a.Description, maxText, false); err != nil {
			return err
		}
		if arms[a.Name] {
			return Space.Err(CodeInvalid, "arm %q appears twice", a.Name)
		}
		arms[a.Name] = true
	}
	if len(p.Sites) == 0 || len(p.Sites) > maxSites {
		return Space.Err(CodeInvalid, "a protocol has 1 to %d sites", maxSites)
	}
	sites := map[string]bool{}
	for i, s := range p.Sites {
		if err := checkText(fmt.Sprintf("site %d name", i+1), s.Name, 256, true); err != nil {
			return err
		}
		if s.Investigator == "" {
			return Space.Err(CodeInvalid, "site %q names no investigator", s.Name)
		}
		if sites[s.Name] {
			return Space.Err(CodeInvalid, "site %q appears twice", s.Name)
		}
		sites[s.Name] = true
	}
	if _, err := ParseDate(p.PrimaryCompletion); err != nil {
		return Space.Err(CodeInvalid, "primary completion %v", err)
	}
	if err := validateStudy(p.ResearchStudy); err != nil {
		return Space.Err(CodeInvalid, "research_study: %v", err)
	}
	return checkCategories("the protocol's categories", p.Categories, false)
}

// checkCategories refuses malformed or repeated consent categories, and an empty list if
// required.
func checkCategories(what string, cats []string, required bool) *tx.Error {
	if required && len(cats) == 0 {
		return Space.Err(CodeInvalid, "%s: name at least one record category", what)
	}
	if len(cats) > maxCats {
		return Space.Err(CodeInvalid, "%s: %d categories, at most %d", what, len(cats), maxCats)
	}
	seen := map[string]bool{}
	for _, c := range cats {
		if !consent.ValidCategory(c) {
			return Space.Err(CodeInvalid, "%s: category %q: use 1-48 lowercase letters, digits, '.', '_' or '-'", what, c)
		}
		if seen[c] {
			return Space.Err(CodeInvalid, "%s: category %q appears twice", what, c)
		}
		seen[c] = true
	}
	return nil
}

// measureKey is how outcomes are matched: the measure's words, case folded. Time frames
// are compared exactly, so a changed time frame is a discrepancy of its own.
func measureKey(m string) string { return strings.ToLower(strings.Join(strings.Fields(m), " ")) }

// checkText refuses invalid UTF-8, control characters, overlong and (if required) empty text.
func checkText(field, s string, max int, required bool) *tx.Error {
	if m := tx.CheckText(field, s, tx.TextRule{Max: max, Required: required}); m != "" {
		return Space.Err(CodeInvalid, "%s", m)
	}
	return nil
}

// ValidID reports whether id is a well-formed trial id.
func ValidID(id string) bool { return idRe.MatchString(id) }
