package audit

import (
	"strconv"
)

// decodeFast parses the leaves Encode writes (one JSON object, no white space, plain ASCII
// strings without escapes, the fields under their exact names) without reflection: the audit
// index and every offline reader decode each event, and encoding/json's reflection was most
// of that cost. It reports false for anything else (escapes, other bytes, white space, names
// in another case, null, numbers json would refuse), which Decode leaves to encoding/json, so
// that both decoders accept and give the same: FuzzDecodeFast holds them to it.
func decodeFast(b []byte, e *Event) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	str := string(b) // one copy; the fields are its substrings
	i := 1
	if b[i] == '}' {
		return i+1 == len(b)
	}
	for {
		ks, next, ok := plainString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return false
		}
		key := b[ks : next-1]
		i = next + 1
		if i >= len(b) {
			return false
		}
		if b[i] == '"' {
			vs, next, ok := plainString(b, i)
			if !ok {
				return false
			}
			if !e.setString(key, str[vs:next-1], b[i:next]) {
				return false
			}
			i = next
		} else {
			next, ok := integer(b, i)
			if !ok || !e.setInt(key, str[i:next]) {
				return false
			}
			i = next
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i+1 == len(b)
		default:
			return false
		}
	}
}

// plainString reads a JSON string at b[i] made only of printable ASCII without escapes, and
// returns where its contents start and the index after its closing quote.
func plainString(b []byte, i int) (int, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// integer reads a JSON integer at b[i] (-?(0|[1-9][0-9]*), no fraction or exponent) and
// returns the index after it.
func integer(b []byte, i int) (int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == start || (b[start] == '0' && j-start > 1) {
		return 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, false
	}
	return j, true
}

// setInt sets an integer field from its digits; false for a name that is not one, or a
// value out of the field's range.
func (e *Event) setInt(key []byte, s string) bool {
	switch string(key) {
	case "height":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return false
		}
		e.Height = n
	case "index":
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return false
		}
		e.Index = n
	case "version":
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return false
		}
		e.Version = uint32(n)
	default:
		return false
	}
	return true
}

// setString sets a string field to s (quoted: the value with its quotes, for the time);
// false for a name that is not one.
func (e *Event) setString(key []byte, s string, quoted []byte) bool {
	switch string(key) {
	case "kind":
		e.Kind = s
	case "time":
		return e.Time.UnmarshalJSON(quoted) == nil
	case "tx":
		e.Tx = s
	case "action":
		e.Action = s
	case "outcome":
		e.Outcome = s
	case "actor":
		e.Actor = s
	case "actor_role":
		e.ActorRole = s
	case "organization":
		e.Organization = s
	case "subject":
		e.Subject = s
	case "patient":
		e.Patient = s
	case "record":
		e.Record = s
	case "category":
		e.Category = s
	case "resource_type":
		e.ResourceType = s
	case "digest":
		e.Digest = s
	case "purpose":
		e.Purpose = s
	case "grant":
		e.Grant = s
	case "reason":
		e.Reason = s
	case "rule":
		e.Rule = s
	case "claim":
		e.Claim = s
	case "emergency":
		e.Emergency = s
	default:
		return false
	}
	return true
}
