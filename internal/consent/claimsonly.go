package consent

import "slices"

// ClaimResourceType is the resource type of insurance claims (internal/claims). Claims are
// not encrypted records: the contract must read them, so a grant that covers nothing but
// claims needs no category key share, and the insurer holding it never gets a key that
// would open the patient's chart.
const ClaimResourceType = "Claim"

// ClaimsOnly reports whether a scope covers claims and nothing else.
func ClaimsOnly(s Scope) bool {
	return len(s.ResourceTypes) > 0 && !slices.ContainsFunc(s.ResourceTypes, func(t string) bool { return t != ClaimResourceType })
}
