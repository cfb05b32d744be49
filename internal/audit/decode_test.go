package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func sampleEvents() []*Event {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	return []*Event{
		{Height: 12, Time: at, Tx: "ab12", Action: RecordWrite, Outcome: Success, Actor: "p1", ActorRole: "provider",
			Organization: "org", Patient: "pt", Record: "r-1", Version: 3, Category: "labs", ResourceType: "Observation",
			Digest: "00ff", Purpose: "treatment", Grant: "g", Reason: "a grant", Rule: "grant", Claim: "c", Emergency: "em"},
		{Height: 1, Time: time.Unix(0, 0), Action: IdentityRegister, Outcome: Denied, Actor: "x", Subject: "y"},
		{Height: -5, Time: at.In(time.FixedZone("x", 3600)), Action: RecordRead, Outcome: Success, Actor: "a",
			Reason: `quotes " and \ backslash, <html> & unicode é, control` + "\x01"},
		{},
	}
}

// TestDecodeMatchesEncodingJSON: Decode gives what encoding/json gives for what Encode writes,
// through the fast path for plain leaves and through encoding/json for the rest.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	fast := 0
	for i, e := range sampleEvents() {
		b := e.Encode()
		var want Event
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("event %d: Decode gave %+v, encoding/json %+v", i, *got, want)
		}
		var f Event
		if decodeFast(b, &f) {
			fast++
		}
	}
	// The first, second and last are plain; the third has escapes and goes to encoding/json.
	if fast != 3 {
		t.Errorf("%d of 4 leaves took the fast path, want 3", fast)
	}
}

// TestDecodeFastRefuses: what the fast path does not take, it leaves to encoding/json, which
// accepts or rejects it as before.
func TestDecodeFastRefuses(t *testing.T) {
	for _, s := range []string{
		``, `{`, `}`, `{"height":1`, `{"height":1,}`, `{ "height":1}`, `{"Height":1}`, `{"height":01}`,
		`{"height":1.5}`, `{"height":1e3}`, `{"height":"1"}`, `{"kind":1}`, `{"kind":null}`,
		`{"version":4294967296}`, `{"index":-1}`, `{"height":9223372036854775808}`, `{"time":"yesterday"}`,
		`{"actor":"a\"b"}`, `{"actor":"é"}`, `{"unknown":"x"}`, `{"height":1}x`, `{"height":-}`, `[]`,
	} {
		var e Event
		if decodeFast([]byte(s), &e) {
			t.Errorf("decodeFast accepted %q", s)
		}
	}
	for _, s := range []string{`{}`, `{"height":-0}`, `{"height":1,"height":2}`, `{"version":4294967295,"kind":"event"}`} {
		var e Event
		if !decodeFast([]byte(s), &e) {
			t.Errorf("decodeFast refused %q", s)
		}
	}
}

// FuzzDecodeFast: whenever the fast path accepts input, encoding/json accepts it and decodes
// the same event.
func FuzzDecodeFast(f *testing.F) {
	for _, e := range sampleEvents() {
		f.Add(e.Encode())
	}
	f.Add([]byte(`{"height":1,"height":2,"version":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Event
		if !decodeFast(b, &got) {
			return
		}
		var want Event
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("decodeFast accepted %q, encoding/json refused it: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeFast gave %+v, encoding/json %+v", b, got, want)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	leaf := sampleEvents()[0].Encode()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeMatchesEncodingJSON: Encode writes the bytes encoding/json writes, through the
// fast path for plain events and through encoding/json for the rest.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	fast := 0
	for i, e := range sampleEvents() {
		got := e.Encode()
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("event %d: Encode wrote %s, encoding/json %s", i, got, want)
		}
		if _, ok := encodeFast(nil, e); ok {
			fast++
		}
	}
	if fast != 3 {
		t.Errorf("%d of 4 events took the fast path, want 3", fast)
	}
	// A year encoding/json refuses is left to it (and panics there as before).
	e := &Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, ok := encodeFast(nil, e); ok {
		t.Error("encodeFast encoded the year 10000")
	}
}

// FuzzEncodeFast: whenever the fast path encodes an event, encoding/json writes the same
// bytes.
func FuzzEncodeFast(f *testing.F) {
	f.Add(int64(12), int64(1772600767891011121), uint32(3), "record.write", "p1", "labs", "a grant", "")
	f.Add(int64(-1), int64(0), uint32(0), "", "<", "&", `"`, "é")
	f.Fuzz(func(t *testing.T, height, unixNano int64, version uint32, a, b, c, d, x string) {
		e := &Event{Height: height, Time: time.Unix(0, unixNano), Version: version, Action: a, Outcome: b, Actor: c,
			ActorRole: d, Organization: x, Subject: a, Patient: b, Record: c, Category: d, ResourceType: x,
			Digest: a, Purpose: b, Grant: c, Reason: d, Rule: x, Claim: a, Emergency: b, Tx: c}
		e.Kind, e.Time = "event", e.Time.UTC()
		got, ok := encodeFast(nil, e)
		if !ok {
			return
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("encodeFast encoded %+v, encoding/json refused it: %v", e, err)
		}
		if string(got) != string(want) {
			t.Fatalf("encodeFast wrote %s, encoding/json %s", got, want)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := sampleEvents()[0]
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Encode()
	}
}
