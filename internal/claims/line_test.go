package claims

import (
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want LineInput
		err  string
	}{
		{in: "http://snomed.info/sct|185349003|125.00", want: LineInput{Seq: 3, System: "http://snomed.info/sct", Code: "185349003", Quantity: 1, Charge: 12500}},
		{in: "http://www.ama-assn.org/go/cpt|99213|80.5|2", want: LineInput{Seq: 3, System: "http://www.ama-assn.org/go/cpt", Code: "99213", Quantity: 2, Charge: 8050}},
		{in: "sct|185349003", err: "want SYSTEM|CODE|AMOUNT[|QUANTITY]"},
		{in: "a|b|1|2|3", err: "want SYSTEM|CODE|AMOUNT[|QUANTITY]"},
		{in: "sct|185349003|twelve", err: `"sct|185349003|twelve": `},
		{in: "sct|185349003|12.00|two", err: "quantity"},
	} {
		got, err := ParseLine(3, c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}
