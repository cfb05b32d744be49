package supply

import "github.com/ehrchain/ehrchain/internal/identity"

// MayRead decides whether who sees a stored event: its capturer and, as DSCSA's
// authority, an active regulator. Deny by default: an unsigned reader, an inactive one and
// every other partner (a competitor learning another's shipments) see nothing. The
// partners in an item's chain of custody join when the custody contract tracks it.
func MayRead(who *identity.Identity, ev *StoredEvent) bool {
	switch {
	case who == nil || ev == nil || !who.Active:
		return false
	case who.ID == ev.CapturedBy:
		return true
	case who.Role == identity.Regulator:
		return true
	}
	return false
}
