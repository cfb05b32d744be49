package access

import (
	"slices"
	"time"
)

// Actions.
const (
	Read  = "read"
	Write = "write"
	List  = "list" // read the list of a patient's records
)

// Purposes of use (HL7 v3 PurposeOfUse codes in brackets).
const (
	Treatment  = "treatment"  // TREAT
	Payment    = "payment"    // HPAYMT
	Operations = "operations" // HOPERAT
	Research   = "research"   // HRESCH
	Emergency  = "emergency"  // ETREAT
)

// ProviderRole is the role whose organization an organization-wide grant matches, and the
// only role that writes for a patient (identity.Provider).
const ProviderRole = "provider"

// Facts are everything Decide looks at, gathered by the caller from one committed state.
type Facts struct {
	Time  time.Time // block time (or, off the ledger, the time the caller judges at)
	Actor Actor
	// Patient is whose records are touched.
	Patient Patient
	// Record is the record read or written; nil for a list, or for a read of a record
	// that does not exist.
	Record *Record
	// Grants are every grant the patient issued, oldest first.
	Grants []Grant
	// Declarations are the emergency declarations for the patient, oldest first.
	Declarations []Declaration
	// OptOuts are the categories the patient took out of break-glass.
	OptOuts []string
}

// Actor is the identity asking.
type Actor struct {
	ID           string
	Role         string
	Organization string
	Active       bool
	Deactivated  int64 // height of the deactivation, when not Active
}

// Patient is the patient whose records are touched.
type Patient struct {
	ID           string
	RegisteredBy string // the identity that registered them (the care relationship)
}

// Record is one record's metadata.
type Record struct {
	ID           string
	Patient      string
	Author       string
	Category     string
	ResourceType string
	// ErasedAt is the height the patient erased the record at (0: not erased). An erased
	// record is gone for everyone: no rule reads or writes it.
	ErasedAt int64
}

// Scope selects records. An empty list in a dimension means "any"; a scope with every
// dimension empty covers all of the patient's records.
type Scope struct {
	Categories    []string `json:"categories,omitempty"`
	ResourceTypes []string `json:"resource_types,omitempty"`
	Records       []string `json:"records,omitempty"`
}

// Target is what an access touches.
type Target struct {
	Category     string
	ResourceType string
	Record       string
}

// Covers reports whether the scope selects the target.
func (s Scope) Covers(t Target) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(s.Categories, t.Category) && in(s.ResourceTypes, t.ResourceType) && in(s.Records, t.Record)
}

// Deny is a deny provision inside a grant: it excludes part of what the grant permits.
// Empty purposes means every purpose.
type Deny struct {
	Scope    Scope    `json:"scope"`
	Purposes []string `json:"purposes,omitempty"`
}

// Grant is what the decision needs of a consent grant (consent.Grant).
type Grant struct {
	ID           string
	Patient      string
	Grantee      string // identity id
	Organization string // or every provider of this organization
	Scope        Scope
	Actions      []string
	Purposes     []string
	Start        time.Time
	Expiry       time.Time // zero: no expiry
	Deny         []Deny
	RevokedAt    int64 // height of the revocation, 0 if in force
}

// Declaration is what the decision needs of an emergency declaration.
type Declaration struct {
	ID         string
	Provider   string
	Categories []string
	Start      time.Time
	Expiry     time.Time
}

// Request is the access asked for.
type Request struct {
	Action  string // Read, Write or List
	Purpose string
}

func (r *Record) target() Target {
	return Target{Category: r.Category, ResourceType: r.ResourceType, Record: r.ID}
}
