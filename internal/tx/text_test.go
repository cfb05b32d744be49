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

// TestCodespaceCheckText: a domain's text check is an error of its codespace and code,
// saying what CheckText says, and nil for acceptable text.
func TestCodespaceCheckText(t *testing.T) {
	const space Codespace = "somedomain"
	if e := space.CheckText(7, "reason", "fine text", TextRule{Required: true}); e != nil {
		t.Fatalf("acceptable text refused: %v", e)
	}
	e := space.CheckText(7, "reason", "a\x1b[2J", TextRule{})
	if e == nil || e.Codespace != "somedomain" || e.Code != 7 || e.Message != "reason contains a control character" {
		t.Fatalf("got %+v", e)
	}
	if e := space.CheckText(7, "50%d", "abc", TextRule{Max: 2}); e == nil || e.Message != "50%d is 3 bytes; at most 2" {
		t.Fatalf("a field name with a %%d in it: %+v", e)
	}
}
