// Package access is the one decision of who may read, list or write a patient's records.
//
// Decide answers "may this actor do this action, for this purpose, to this record" from
// facts its caller gathered from committed state (the actor, the patient, the record's
// metadata, the patient's grants, emergency declarations and opt-outs) and the block time.
// It reads nothing itself — no state, no clock, no map order — so the same facts give the
// same decision on every node inside FinalizeBlock, and in the gateways that pre-filter a
// search with it. Every path asks it: the ledger's reads, lists and writes, the API's and
// the FHIR gateway's filtering of what a list shows, and the claims a provider sends an
// insurer. Callers map a denial to their own error code; they add no rule of their own.
//
// Deny by default: the zero Decision denies, every rule that does not allow falls through
// to the next, and the last one standing names why nothing allowed. An allowed Decision
// names the rule (Code), and the grant or emergency declaration, that allowed it, so the
// audit event recording the access can say so.
//
// The rules, in order:
//
//   - An inactive actor is denied everything. A read names a record that exists and
//     belongs to the patient.
//   - The patient may read, list and write their own records.
//   - The author of a record may read it for treatment, payment or operations (HIPAA's
//     TPO: their own patient's care, billing for it, and the running of their practice).
//     Any other purpose, research included, needs the patient's consent like everyone
//     else's.
//   - Only providers write for a patient. The provider who registered the patient (the
//     care relationship made at the registration desk) may write for treatment.
//   - A grant allows what it names: the actor (or, for a provider, the actor's
//     organization), the action, the purpose, a scope covering the record, inside its
//     window and not revoked. A deny provision of any grant for the actor that covers the
//     access denies it, whatever other grants permit.
//   - A list is allowed when some grant lets the actor read some record for the purpose.
//   - Break-glass: an emergency-purpose access no rule above allows is allowed under the
//     actor's own emergency declaration, inside its window. A read needs the declaration
//     to cover the record's category and the patient not to have opted that category out;
//     an urgent write adds to the chart in any category, and is a provider's only (the
//     patient writes their own records for treatment).
package access
