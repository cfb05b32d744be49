package tx

import "testing"

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		s    string
		r    TextRule
		want string
	}{
		{"St Mary", TextRule{Required: true}, ""},
		{"  ", TextRule{Required: true}, "f is required"},
		{"", TextRule{}, ""},
		{"abcdef", TextRule{Max: 5}, "f is 6 bytes; at most 5"},
		{"a\xffb", TextRule{}, "f is not valid UTF-8"},
		{"a\x1b[31mred", TextRule{}, "f contains a control character"},
		{"line one\nline two", TextRule{}, "f contains a control character"},
		{"line one\nline two\tend", TextRule{Multiline: true}, ""},
		{"bell\a", TextRule{Multiline: true}, "f contains a control character"},
		{"del\x7f", TextRule{}, "f contains a control character"},
		{"Zoë Ünal 日本", TextRule{Required: true, Max: 64}, ""},
	} {
		if got := CheckText("f", c.s, c.r); got != c.want {
			t.Errorf("CheckText(%q, %+v) = %q, want %q", c.s, c.r, got, c.want)
		}
	}
}
