package supply

import "testing"

func TestCompanyDigitsEveryForm(t *testing.T) {
	for _, c := range []struct {
		id, key string
		ok      bool
	}{
		{"urn:epc:id:sgtin:0614141.107346.2017", "0614141073464", true},
		{"https://id.gs1.org/01/09521568251204/21/10", "952156825120", true},
		{"urn:epc:class:lgtin:4012345.012345.998877", "4012345123456", true},
		{"urn:epc:idpat:sgtin:4012345.044444.*", "4012345444445", true},
		{"urn:epc:id:sscc:0614141.1234567890", "0614141234567890", true},
		{"urn:epc:id:sgln:0614141.00777.0", "061414100777", true},
		{"https://example.com/not/a/gs1/key", "", false},
		{"", "", false},
	} {
		key, ok := companyDigits(c.id)
		if ok != c.ok || (ok && key[:len(c.key)] != c.key) {
			t.Errorf("%s: got %q %v, want prefix %q %v", c.id, key, ok, c.key, c.ok)
		}
	}
}

func TestOwnsNeedsTheWholePrefix(t *testing.T) {
	sgtin := "urn:epc:id:sgtin:0614141.107346.2017"
	if !owns([]string{"0614141"}, sgtin) {
		t.Fatal("the owner of 0614141 does not own its SGTIN")
	}
	for _, p := range [][]string{nil, {"4012345"}, {"06141419"}, {"1614141"}} {
		if owns(p, sgtin) {
			t.Errorf("prefixes %v own %s", p, sgtin)
		}
	}
}

func TestGLNCheckDigit(t *testing.T) {
	if err := checkGLN("0614141000005"); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"0614141000006", "061414100000", "06141410000a5", ""} {
		if checkGLN(g) == nil {
			t.Errorf("GLN %q accepted", g)
		}
	}
	for _, p := range []string{"123", "1234567890123", "12a4", ""} {
		if checkPrefix(p) == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
