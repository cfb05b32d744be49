// Package consent holds what patients decide about their records: grants (who may do what,
// to which records, for which purpose, for how long), deny provisions, revocations, and the
// one decision function every access goes through.
//
// Decide is deny by default: its zero value denies, every early return denies, a deny
// provision beats any permit, and an allowed decision names the grant that allowed it so
// the audit trail can record it. Validity is judged by block time, never the wall clock.
package consent
