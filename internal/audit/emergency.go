package audit

// Emergency (break-glass) actions. A declaration is the loud one: it starts an emergency
// override and is exported as FHIR AuditEvent subtype "Emergency Override Started".
const (
	EmergencyCustodian = "emergency.custodian" // a custodian institution enrolled or retired
	EmergencyEscrow    = "emergency.escrow"    // a patient escrowed a category key k-of-n
	EmergencyOptOut    = "emergency.optout"    // a patient opted categories out (or back in)
	EmergencyDeclare   = "emergency.declare"   // a provider declared an emergency
	EmergencyRelease   = "emergency.release"   // a custodian released its share to the provider
	EmergencyJustify   = "emergency.justify"   // the provider justified the declaration
	EmergencyReview    = "emergency.review"    // an auditor reviewed the justification
)
