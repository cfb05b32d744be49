package audit

import "strconv"

// encodeFast appends the JSON encoding/json gives e (Encode has set Kind, Index and the
// time's zone) without reflection: every write, read and consent change encodes its event in
// the block, and reflection was most of that cost. It reports false, leaving Encode to
// encoding/json, when a string holds anything but printable ASCII that needs no escape
// (encoding/json escapes quotes, backslashes, control bytes and < > &, and rewrites
// invalid UTF-8), or the time is one encoding/json refuses. FuzzEncodeFast holds the two
// to the same bytes; the leaves are under the app hash.
func encodeFast(b []byte, e *Event) ([]byte, bool) {
	b = append(b, `{"kind":`...)
	var ok bool
	if b, ok = plain(b, e.Kind); !ok {
		return nil, false
	}
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, e.Height, 10)
	b = append(b, `,"time":"`...)
	b, err := e.Time.AppendText(b)
	if err != nil {
		return nil, false
	}
	b = append(b, '"')
	fields := [...]struct {
		name      string
		v         string
		omitEmpty bool
	}{
		{`,"tx":`, e.Tx, true},
		{`,"action":`, e.Action, false},
		{`,"outcome":`, e.Outcome, false},
		{`,"actor":`, e.Actor, false},
		{`,"actor_role":`, e.ActorRole, true},
		{`,"organization":`, e.Organization, true},
		{`,"subject":`, e.Subject, true},
		{`,"patient":`, e.Patient, true},
		{`,"record":`, e.Record, true},
		{"version", "", true}, // a number, below
		{`,"category":`, e.Category, true},
		{`,"resource_type":`, e.ResourceType, true},
		{`,"digest":`, e.Digest, true},
		{`,"purpose":`, e.Purpose, true},
		{`,"grant":`, e.Grant, true},
		{`,"reason":`, e.Reason, true},
		{`,"rule":`, e.Rule, true},
		{`,"claim":`, e.Claim, true},
		{`,"emergency":`, e.Emergency, true},
	}
	for _, f := range fields {
		if f.name == "version" {
			if e.Version != 0 {
				b = append(b, `,"version":`...)
				b = strconv.AppendUint(b, uint64(e.Version), 10)
			}
			continue
		}
		if f.omitEmpty && f.v == "" {
			continue
		}
		b = append(b, f.name...)
		if b, ok = plain(b, f.v); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

// plainByte holds the bytes encoding/json writes unchanged in a string: printable ASCII
// but for the quote, the backslash and < > &.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plain appends s quoted if encoding/json would write it unchanged between the quotes.
func plain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return nil, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
