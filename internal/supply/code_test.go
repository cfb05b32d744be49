package supply

import (
	"strings"
	"testing"
	"time"
)

func TestParseCodeForms(t *testing.T) {
	want := Code{GTIN: "04012345123456", Serial: "1001", Lot: "L1", Expiry: "270630"}
	for _, s := range []string{
		"(01)04012345123456(21)1001(10)L1(17)270630",
		"(17)270630(10)L1(21)1001(01)04012345123456",
		"01040123451234561727063010L1\x1d211001",        // as a scanner sends it: <GS> ends a variable AI
		"]d20104012345123456211001\x1d10L1\x1d17270630", // with the DataMatrix symbology identifier
		"https://id.gs1.org/01/04012345123456/10/L1/21/1001?17=270630",
		"https://example.com/shop/01/04012345123456/21/1001?10=L1&17=270630",
		"  https://id.gs1.org/01/4012345123456/10/L1/21/1001?17=270630  ", // a GTIN-13, padded
	} {
		got, err := ParseCode(s)
		if err != nil || got != want {
			t.Errorf("ParseCode(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for s, why := range map[string]string{
		"(01)04012345123457(21)1001":                       "check digit",
		"(01)04012345123456(10)L1":                         "serial",
		"(21)1001":                                         "GTIN",
		"(01)04012345123456(21)1001(17)271331":             "expiry",
		"(01)04012345123456(21)1001(17)270230":             "expiry",
		"https://id.gs1.org/gtin/04012345123456":           "Digital Link",
		"0104012345123456991234":                           "AI 99",
		"(01)04012345123456(21)" + strings.Repeat("9", 21): "20 characters",
	} {
		if _, err := ParseCode(s); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseCode(%q): %v, want an error about %s", s, err, why)
		}
	}
	c, _ := ParseCode("(01)04012345123456(21)1001(10)L1(17)270600")
	if got := c.ExpiryDate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); got != "2027-06-30" {
		t.Errorf("DD 00 is the month's last day: %s", got)
	}
	c.Expiry = "990101"
	if got := c.ExpiryDate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); got != "1999-01-01" {
		t.Errorf("YY 99 in 2026 is 1999 (GS1's 49/50-year window): %s", got)
	}
	if c.ItemID() != CanonicalID(sgtin) || c.LotID() != CanonicalID(lgtin) {
		t.Errorf("ids %s %s", c.ItemID(), c.LotID())
	}
}

func TestJudgeAnswers(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	code := Code{GTIN: "04012345123456", Serial: "1001", Lot: "L1", Expiry: "270630"}
	ok := &Public{ID: CanonicalID(sgtin), Status: StatusActive, Lot: CanonicalID(lgtin), Expiry: "2027-06-30"}
	with := func(f func(*Public)) *Public { p := *ok; f(&p); return &p }
	for _, c := range []struct {
		name      string
		code      Code
		item, lot *Public
		want      string
	}{
		{"genuine", code, ok, nil, AnswerGenuine},
		{"genuine, in transit", code, with(func(p *Public) { p.Status = StatusInTransit }), nil, AnswerGenuine},
		{"genuine, a code without lot or expiry", Code{GTIN: code.GTIN, Serial: code.Serial}, ok, nil, AnswerGenuine},
		{"unknown", code, nil, nil, AnswerUnknown},
		{"quarantined", code, with(func(p *Public) { p.Quarantined = true }), nil, AnswerSuspect},
		{"never commissioned", code, with(func(p *Public) { p.Status = StatusUnknown }), nil, AnswerSuspect},
		{"another lot printed", Code{GTIN: code.GTIN, Serial: code.Serial, Lot: "L9", Expiry: "270630"}, ok, nil, AnswerSuspect},
		{"another expiry printed", Code{GTIN: code.GTIN, Serial: code.Serial, Lot: "L1", Expiry: "280630"}, ok, nil, AnswerSuspect},
		{"a lot on a pack commissioned without one", code, with(func(p *Public) { p.Lot = "" }), nil, AnswerSuspect},
		{"recalled item", code, with(func(p *Public) { p.Status = StatusRecalled }), nil, AnswerRecalled},
		{"recalled lot", code, ok, &Public{ID: CanonicalID(lgtin), Status: StatusRecalled}, AnswerRecalled},
		{"recalled and dispensed", code, with(func(p *Public) { p.Status = StatusDispensed }), &Public{Status: StatusRecalled}, AnswerRecalled},
		{"expired", Code{GTIN: code.GTIN, Serial: code.Serial, Lot: "L1", Expiry: "260531"}, with(func(p *Public) { p.Expiry = "2026-05-31" }), nil, AnswerExpired},
		{"expired by the commissioned date", Code{GTIN: code.GTIN, Serial: code.Serial}, with(func(p *Public) { p.Expiry = "2026-05-31" }), nil, AnswerExpired},
		{"expires today: not yet", Code{GTIN: code.GTIN, Serial: code.Serial}, with(func(p *Public) { p.Expiry = "2026-06-01" }), nil, AnswerGenuine},
		{"dispensed", code, with(func(p *Public) { p.Status = StatusDispensed }), nil, AnswerDispensed},
		{"destroyed", code, with(func(p *Public) { p.Status = StatusDestroyed }), nil, AnswerSuspect},
	} {
		if got := Judge(c.code, c.item, c.lot, now); got.Answer != c.want || got.Detail == "" {
			t.Errorf("%s: %+v, want %s", c.name, got, c.want)
		}
	}
}
