package admission

import (
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

func TestCharge(t *testing.T) {
	l := Limit{Bytes: 1000, Txs: 3}
	const win = 3600
	for _, c := range []struct {
		name string
		u    Usage
		at   int64
		size int
		want Usage
		code uint32
	}{
		{"first in a window", Usage{}, 7200, 400, Usage{Window: 2, Bytes: 400, Txs: 1}, 0},
		{"fills the bytes exactly", Usage{Window: 2, Bytes: 600, Txs: 1}, 7300, 400, Usage{Window: 2, Bytes: 1000, Txs: 2}, 0},
		{"one byte over", Usage{Window: 2, Bytes: 601, Txs: 1}, 7300, 400, Usage{Window: 2, Bytes: 601, Txs: 1}, CodeOverBytes},
		{"one transaction over", Usage{Window: 2, Bytes: 10, Txs: 3}, 7300, 1, Usage{Window: 2, Bytes: 10, Txs: 3}, CodeOverTxs},
		{"the next window starts afresh", Usage{Window: 2, Bytes: 1000, Txs: 3}, 3 * win, 400, Usage{Window: 3, Bytes: 400, Txs: 1}, 0},
		{"a single transaction larger than the budget", Usage{}, 0, 1001, Usage{}, CodeOverBytes},
		{"an earlier block time does not reopen a window", Usage{Window: 2, Bytes: 1000, Txs: 1}, 3000, 1, Usage{Window: 2, Bytes: 1000, Txs: 1}, CodeOverBytes},
	} {
		got, err := Charge("this identity", l, win, c.u, c.at, c.size)
		var code uint32
		if err != nil {
			code = err.Code
			if err.Codespace != string(Space) || !strings.Contains(err.Message, "retry after") {
				t.Errorf("%s: refusal %v does not say when to retry", c.name, err)
			}
		}
		if code != c.code || got != c.want {
			t.Errorf("%s: Charge = %+v, code %d; want %+v, code %d", c.name, got, code, c.want, c.code)
		}
	}
}

func TestZeroLimitIsUnlimited(t *testing.T) {
	u := Usage{}
	for i := 0; i < 1000; i++ {
		var err *tx.Error
		if u, err = Charge("this identity", Limit{}, 60, u, 0, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsageEncoding(t *testing.T) {
	u := Usage{Window: 493_000, Bytes: 64 << 20, Txs: 19_999}
	if got := DecodeUsage(u.Encode()); got != u || len(u.Encode()) != 24 {
		t.Fatalf("round trip %+v -> %+v", u, got)
	}
	if DecodeUsage([]byte("short")) != (Usage{}) {
		t.Fatal("a malformed value decoded as usage")
	}
}

func TestBudgetsPerRole(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.For(identity.Provider) != d.Provider || d.For(identity.Registrar) != d.Registrar || d.For(identity.Patient) != d.Patient ||
		d.For(identity.Insurer) != d.Insurer || d.For(identity.Auditor) != d.Auditor || d.For("stranger") != d.Patient {
		t.Fatal("roles map to the wrong limits")
	}
	bad := d
	bad.WindowSeconds = 0
	if bad.Validate() == nil {
		t.Fatal("a zero window was accepted")
	}
	bad = d
	bad.Auditor.Bytes = -1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "auditor") {
		t.Fatalf("a negative limit was accepted or not named: %v", err)
	}
}

func TestAccountsSharePools(t *testing.T) {
	b := Defaults()
	if acc := b.Accounts("p1", identity.Provider, "reg"); len(acc) != 1 || acc[0].Limit != b.Provider {
		t.Fatalf("a provider is charged to %+v", acc)
	}
	a1, a2 := b.Accounts("p1", identity.Patient, "dr"), b.Accounts("p2", identity.Patient, "dr")
	if len(a1) != 2 || string(a1[1].Key) != string(a2[1].Key) || a1[1].Limit != b.Sponsored || string(a1[0].Key) == string(a2[0].Key) {
		t.Fatalf("two patients of one provider do not share its pool: %+v %+v", a1, a2)
	}
	o1, o2 := b.Accounts("s1", identity.Patient, OpenSponsor), b.Accounts("s2", identity.Patient, OpenSponsor)
	if string(o1[1].Key) != string(o2[1].Key) || o1[1].Limit != b.Open || string(o1[1].Key) == string(a1[1].Key) {
		t.Fatalf("self-registered patients do not share the open pool: %+v %+v", o1, o2)
	}
}

// TestChargeAllIsAllOrNothing: a full pool refuses the transaction and leaves the
// identity's own usage as it was.
func TestChargeAllIsAllOrNothing(t *testing.T) {
	acc := []Account{{Limit: Limit{Txs: 10}, Who: "this identity"}, {Limit: Limit{Txs: 2}, Who: "the pool"}}
	got, err := ChargeAll(acc, []Usage{{Txs: 1}, {Txs: 2}}, 60, 0, 1)
	if err == nil || got != nil || !strings.Contains(err.Message, "the pool") {
		t.Fatalf("a full pool let a transaction through: %v %v", got, err)
	}
	got, err = ChargeAll(acc, []Usage{{Txs: 1}, {Txs: 1}}, 60, 0, 1)
	if err != nil || got[0].Txs != 2 || got[1].Txs != 2 {
		t.Fatalf("ChargeAll = %v, %v", got, err)
	}
}
