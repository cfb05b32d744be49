package access

// Code names the rule that decided. Codes are stable: audit events and reports carry them.
type Code string

// Codes of an allowed decision.
const (
	Self       Code = "self"        // the patient's own records
	Author     Code = "author"      // the author reads for treatment, payment or operations
	Care       Code = "care"        // the registering provider writes for treatment
	Granted    Code = "grant"       // a grant of the patient
	BreakGlass Code = "break-glass" // the actor's emergency declaration
)

// Codes of a denial.
const (
	Inactive           Code = "inactive"             // the actor was deactivated
	NoRecord           Code = "no-record"            // no such record
	OtherPatient       Code = "other-patient"        // the record is another patient's
	BadRequest         Code = "bad-request"          // an action or purpose the rules do not know
	NotProvider        Code = "not-provider"         // only providers write for patients
	NoConsent          Code = "no-consent"           // no grant names the actor
	Revoked            Code = "revoked"              // the actor's grant was revoked
	NotStarted         Code = "not-started"          // the actor's grant starts later
	Expired            Code = "expired"              // the actor's grant expired
	DenyProvision      Code = "deny-provision"       // a deny provision excludes the access
	WrongAction        Code = "wrong-action"         // the grant does not permit the action
	OutOfScope         Code = "out-of-scope"         // the grant does not cover the record
	WrongPurpose       Code = "wrong-purpose"        // the grant does not permit the purpose
	NoList             Code = "no-list"              // no grant lets the actor list for the purpose
	NoDeclaration      Code = "no-declaration"       // no emergency declaration by the actor
	DeclarationExpired Code = "declaration-expired"  // the actor's declaration is outside its window
	DeclarationScope   Code = "declaration-category" // the declaration does not cover the category
	OptedOut           Code = "opted-out"            // the patient opted the category out of break-glass
	Erased             Code = "erased"               // the record was erased (crypto-shredded)
)

// codes lists every code, so the scripts can show each one is reached.
var codes = []Code{Self, Author, Care, Granted, BreakGlass,
	Inactive, NoRecord, OtherPatient, BadRequest, NotProvider, NoConsent, Revoked, NotStarted, Expired,
	DenyProvision, WrongAction, OutOfScope, WrongPurpose, NoList, NoDeclaration, DeclarationExpired,
	DeclarationScope, OptedOut, Erased}

// Decision is the outcome. Its zero value denies.
type Decision struct {
	Allowed bool
	Code    Code   // the rule that allowed, or the reason nothing did
	Reason  string // the same, for a person: names the grant or declaration and its dates
	// Grant is the grant that allowed the access, or the one whose deny provision denied it.
	Grant string
	// Emergency is the emergency declaration that allowed a break-glass access.
	Emergency string
}

func allow(c Code, reason string) Decision { return Decision{Allowed: true, Code: c, Reason: reason} }
func deny(c Code, reason string) Decision  { return Decision{Code: c, Reason: reason} }
