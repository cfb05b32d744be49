package claims

import "testing"

func TestParseCents(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12", 1200, true}, {"12.3", 1230, true}, {"12.34", 1234, true}, {"0.005", 1, true}, {"0.004", 0, true},
		{"28.104000000000003", 2810, true}, {"112.41600000000001", 11242, true}, {"9815.08", 981508, true},
		{"-1", 0, false}, {"1e3", 0, false}, {"", 0, false}, {".5", 0, false}, {"1.2.3", 0, false}, {"12,50", 0, false},
		{"9999999999999", 0, false}, {" 7 ", 700, true},
	} {
		got, err := ParseCents(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseCents(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", 21742: "217.42", -150: "-1.50"} {
		if got := FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %s, want %s", c, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, bad := range []string{"2024-2-1", "2024-02-30", "24-02-01", "2024-02-01T00:00:00Z", "", "2024/02/01"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if d, err := ParseDate("2024-02-29"); err != nil || d.Year() != "2024" {
		t.Errorf("leap day: %v %v", d, err)
	}
}

func TestCostShareRounding(t *testing.T) {
	b := &Benefit{Copay: 3000, CoinsuranceBP: 2000}
	for _, c := range []struct{ allowed, copay, coins, payer int64 }{
		{10000, 3000, 1400, 5600}, {2000, 2000, 0, 0}, {3003, 3000, 1, 2}, {3002, 3000, 0, 2}, // 0.4 rounds down, 0.6 up
	} {
		cp, co, pa := costShare(b, c.allowed)
		if cp != c.copay || co != c.coins || pa != c.payer || cp+co+pa != c.allowed {
			t.Errorf("costShare(%d) = %d %d %d, want %d %d %d", c.allowed, cp, co, pa, c.copay, c.coins, c.payer)
		}
	}
	if _, co, pa := costShare(&Benefit{CoinsuranceBP: MaxBP}, MaxAmount); co != MaxAmount || pa != 0 {
		t.Errorf("100 %% coinsurance on the largest amount: coinsurance %d payer %d", co, pa)
	}
}
