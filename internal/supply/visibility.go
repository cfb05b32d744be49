package supply

import "github.com/ehrchain/ehrchain/internal/identity"

// MayRead decides whether who sees a stored event: its capturer, a trading partner in the
// custody of an item the event names (inCustody: the visibility index, grantVisibility)
// and, as DSCSA's authority, an active regulator. Deny by default: an unsigned reader, an
// inactive one and every other partner (a competitor learning another's shipments) see
// nothing.
func MayRead(who *identity.Identity, ev *StoredEvent, inCustody bool) bool {
	switch {
	case who == nil || ev == nil || !who.Active:
		return false
	case who.ID == ev.CapturedBy:
		return true
	case who.Role == identity.Regulator:
		return true
	}
	return inCustody && identity.TradingPartner(who.Role)
}

// MayTrace decides whether who sees an item's chain of custody: a partner that owned it
// or was named its receiver (the owner among them), and an active regulator. Another
// partner, even one that captured an event naming the item (a counterfeiter's receipt),
// does not learn the item's route.
func MayTrace(who *identity.Identity, it *Item) bool {
	switch {
	case who == nil || it == nil || !who.Active:
		return false
	case who.Role == identity.Regulator:
		return true
	}
	return it.InCustody(who.ID)
}

// MayQuery says whether a role queries EPCIS events at all: trading partners (each
// answered what it may read) and regulators.
func MayQuery(r identity.Role) bool { return identity.TradingPartner(r) }
