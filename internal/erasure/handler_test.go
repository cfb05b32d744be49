package erasure

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/state/statetest"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// chart is one patient's chart: provider dr registered patient pat, who has keys for
// general and hiv; dr wrote r1 and r3 (general) and r2 (hiv) at day 0. aud is an auditor,
// reg the registrar. The clock stands still (Step 0): a test moves it.
type chart struct {
	*statetest.Chain
	pat, dr, aud, reg string
}

var day0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

func newChart(t *testing.T) *chart {
	c := &chart{Chain: statetest.New(t, day0)}
	c.Step = 0
	c.dr, c.aud, c.reg = c.Identity(identity.Provider, "St Mary", ""), c.Identity(identity.Auditor, "St Mary", ""), c.Identity(identity.Registrar, "St Mary", "")
	c.pat = c.Identity(identity.Patient, "", c.dr)
	var ks []consent.CategoryKey
	for _, cat := range []string{"general", "hiv"} {
		kp, _ := keys.Generate()
		ks = append(ks, consent.CategoryKey{Category: cat, Version: 1, EncKey: kp.EncPublic()})
	}
	c.Must(c.pat, func(s *state.Tx, e identity.Env) *tx.Error {
		return consent.ExecPublishKeys(s, e, c.pat, &consent.PublishKeysBody{Keys: ks})
	})
	for _, r := range [][2]string{{"r1", "general"}, {"r2", "hiv"}, {"r3", "general"}} {
		ct := []byte("ciphertext of " + r[0])
		m := records.Meta{RecordID: r[0], Version: 1, Patient: c.pat, Category: r[1], ResourceType: "Observation", ContentType: "application/fhir+json",
			Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: 1, PatientWrap: make([]byte, 1168), AuthorKeyVersion: 1, AuthorWrap: make([]byte, 1168)}
		c.Must(c.dr, func(s *state.Tx, e identity.Env) *tx.Error {
			return records.ExecPut(s, e, c.dr, &records.PutBody{Meta: m, Ciphertext: ct})
		})
	}
	return c
}

func (c *chart) must(signer string, f statetest.Handler) { c.T.Helper(); c.Must(signer, f) }

// expect runs f as signer and wants erasure/code (0: success); a refusal changes nothing.
func (c *chart) expect(what string, code uint32, signer string, f statetest.Handler) {
	c.T.Helper()
	c.Expect(what, Space, code, signer, f)
}

func erase(b EraseBody) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error { return ExecErase(s, e, e.Signer.ID, &b) }
}

func hold(patient, record string) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error {
		return ExecHold(s, e, e.Signer.ID, &HoldBody{Patient: patient, Record: record, Reason: "litigation"})
	}
}

func expire(ids ...string) statetest.Handler {
	return func(s *state.Tx, e identity.Env) *tx.Error {
		return ExecExpire(s, e, e.Signer.ID, &ExpireBody{Records: ids})
	}
}

func (c *chart) erased(id string) bool { return records.Erased(c.Store, id) != nil }

// TestHoldsBlockErasure: which erasure each kind of hold blocks. An erasure under a hold
// erases nothing at all; a lifted hold blocks nothing.
func TestHoldsBlockErasure(t *testing.T) {
	for _, x := range []struct {
		name   string
		hold   string // "" none, "chart", or a record id
		lifted bool
		erase  EraseBody
		code   uint32
		gone   []string // records erased after the request
	}{
		{"no hold, one record", "", false, EraseBody{Record: "r1"}, 0, []string{"r1"}},
		{"no hold, a category", "", false, EraseBody{Category: "general"}, 0, []string{"r1", "r3"}},
		{"no hold, the chart", "", false, EraseBody{Chart: true}, 0, []string{"r1", "r2", "r3"}},
		{"a chart hold, one record", "chart", false, EraseBody{Record: "r2"}, CodeHeld, nil},
		{"a chart hold, a category", "chart", false, EraseBody{Category: "hiv"}, CodeHeld, nil},
		{"a chart hold, the chart", "chart", false, EraseBody{Chart: true}, CodeHeld, nil},
		{"a record hold, that record", "r1", false, EraseBody{Record: "r1"}, CodeHeld, nil},
		{"a record hold, its category", "r1", false, EraseBody{Category: "general"}, CodeHeld, nil},
		{"a record hold, the chart", "r1", false, EraseBody{Chart: true}, CodeHeld, nil},
		{"a record hold, another record", "r1", false, EraseBody{Record: "r3"}, 0, []string{"r3"}},
		{"a record hold, another category", "r1", false, EraseBody{Category: "hiv"}, 0, []string{"r2"}},
		{"a lifted chart hold", "chart", true, EraseBody{Chart: true}, 0, []string{"r1", "r2", "r3"}},
	} {
		t.Run(x.name, func(t *testing.T) {
			c := newChart(t)
			if x.hold != "" {
				rec := x.hold
				if rec == "chart" {
					rec = ""
				}
				c.must(c.aud, func(s *state.Tx, e identity.Env) *tx.Error { return hold(c.pat, rec)(s, e) })
				if x.lifted {
					id := Holds(c.Store, c.pat)[0].ID
					c.must(c.reg, func(s *state.Tx, e identity.Env) *tx.Error {
						return ExecLift(s, e, c.reg, &LiftBody{Patient: c.pat, Hold: id, Reason: "settled"})
					})
				}
			}
			c.expect(x.name, x.code, c.pat, erase(x.erase))
			for _, id := range []string{"r1", "r2", "r3"} {
				want := false
				for _, g := range x.gone {
					want = want || g == id
				}
				if c.erased(id) != want {
					t.Errorf("record %s erased=%v, want %v", id, c.erased(id), want)
				}
			}
		})
	}
}

// TestErasureRequests: who may erase what, and what an erasure must name.
func TestErasureRequests(t *testing.T) {
	c := newChart(t)
	c.expect("a provider erasing", CodeUnauthorized, c.dr, erase(EraseBody{Record: "r1"}))
	c.expect("nothing named", CodeInvalid, c.pat, erase(EraseBody{}))
	c.expect("a record and a category", CodeInvalid, c.pat, erase(EraseBody{Record: "r1", Category: "general"}))
	c.expect("a record and the chart", CodeInvalid, c.pat, erase(EraseBody{Record: "r1", Chart: true}))
	c.expect("an unknown record", CodeNotFound, c.pat, erase(EraseBody{Record: "r9"}))
	c.expect("a category with neither records nor key", CodeNotFound, c.pat, erase(EraseBody{Category: "genetic"}))
	c.expect("a malformed category", CodeInvalid, c.pat, erase(EraseBody{Category: "Genetic Data"}))
	c.expect("the category hiv", 0, c.pat, erase(EraseBody{Category: "hiv"}))
	if consent.CurrentKey(c.Store, c.pat, "hiv") != nil {
		t.Fatal("erasing a category left its key")
	}
	c.expect("the category hiv again (no records, no key left)", CodeNotFound, c.pat, erase(EraseBody{Category: "hiv"}))
	c.expect("a record", 0, c.pat, erase(EraseBody{Record: "r1"}))
	c.expect("the same record again", CodeErased, c.pat, erase(EraseBody{Record: "r1"}))
}

// TestHoldRequests: who places and lifts holds, on what.
func TestHoldRequests(t *testing.T) {
	c := newChart(t)
	c.expect("a provider placing a hold", CodeUnauthorized, c.dr, hold(c.pat, ""))
	c.expect("the patient placing a hold", CodeUnauthorized, c.pat, hold(c.pat, ""))
	c.expect("a hold on a provider", CodeNotFound, c.aud, hold(c.dr, ""))
	c.expect("a hold on an unknown record", CodeNotFound, c.aud, hold(c.pat, "r9"))
	c.expect("a hold without a reason", CodeInvalid, c.aud, func(s *state.Tx, e identity.Env) *tx.Error {
		return ExecHold(s, e, c.aud, &HoldBody{Patient: c.pat, Reason: "  "})
	})
	c.expect("the registrar holds r1", 0, c.reg, hold(c.pat, "r1"))
	c.expect("the patient erases r3", 0, c.pat, erase(EraseBody{Record: "r3"}))
	c.expect("a hold on an erased record", CodeErased, c.aud, hold(c.pat, "r3"))
	id := Holds(c.Store, c.pat)[0].ID
	lift := func(hold string) statetest.Handler {
		return func(s *state.Tx, e identity.Env) *tx.Error {
			return ExecLift(s, e, e.Signer.ID, &LiftBody{Patient: c.pat, Hold: hold, Reason: "settled"})
		}
	}
	c.expect("the patient lifting", CodeUnauthorized, c.pat, lift(id))
	c.expect("an unknown hold", CodeNotFound, c.aud, lift("h-0000000000000000"))
	c.expect("an auditor lifts", 0, c.aud, lift(id))
	c.expect("lifting twice", CodeLifted, c.aud, lift(id))
	if h := GetHold(c.Store, c.pat, id); h.Active() || h.LiftedBy != c.aud || h.PlacedBy != c.reg {
		t.Fatalf("lifted hold stored as %+v", h)
	}
}

// TestExpiry: the registrar expires records whose category's period has ended, all named
// records or none; FindDue lists what may go and, apart, what a hold keeps.
func TestExpiry(t *testing.T) {
	c := newChart(t)
	setPolicy := func(cat string, days int64) statetest.Handler {
		return func(s *state.Tx, e identity.Env) *tx.Error {
			return ExecSetRetention(s, e, e.Signer.ID, &SetRetentionBody{Category: cat, Days: days, Reason: "statute"})
		}
	}
	c.expect("a provider setting a period", CodeUnauthorized, c.dr, setPolicy("general", 30))
	c.expect("removing a policy that does not exist", CodeNotFound, c.reg, setPolicy("general", 0))
	c.expect("general kept 30 days", 0, c.reg, setPolicy("general", 30))
	c.expect("an auditor holds r3", 0, c.aud, hold(c.pat, "r3"))

	c.Time = day0.Add(30*24*time.Hour - time.Second)
	c.expect("a second before the period ends", CodeNotDue, c.reg, expire("r1"))
	if due, held := FindDue(c.Commit(), c.Time, "", 0); len(due) != 0 || len(held) != 0 {
		t.Fatalf("due before the period ended: %v %v", due, held)
	}
	c.Time = day0.Add(30 * 24 * time.Hour)
	due, held := FindDue(c.Commit(), c.Time, "", 0)
	if len(due) != 1 || due[0].Record != "r1" || len(held) != 1 || held[0].Record != "r3" || held[0].Hold == "" {
		t.Fatalf("FindDue at the end of the period: due %+v held %+v", due, held)
	}
	c.expect("a provider expiring", CodeUnauthorized, c.dr, expire("r1"))
	c.expect("no records named", CodeInvalid, c.reg, expire())
	c.expect("a record named twice", CodeInvalid, c.reg, expire("r1", "r1"))
	c.expect("an unknown record", CodeNotFound, c.reg, expire("r9"))
	c.expect("a category without a policy (hiv)", CodeNotDue, c.reg, expire("r2"))
	c.expect("a held record", CodeHeld, c.reg, expire("r3"))
	c.expect("a due record with a held one: neither", CodeHeld, c.reg, expire("r1", "r3"))
	if c.erased("r1") {
		t.Fatal("a refused expiry erased a record")
	}
	c.expect("the due record", 0, c.reg, expire("r1"))
	c.expect("an expired record again", CodeErased, c.reg, expire("r1"))
	if t1 := records.Erased(c.Store, "r1"); t1 == nil || t1.By != "retention" {
		t.Fatalf("r1's tombstone: %+v", t1)
	}
	// A default policy ("*") governs hiv too.
	c.expect("every category kept 10 days", 0, c.reg, setPolicy(AnyCategory, 10))
	c.expect("hiv, now under the default", 0, c.reg, expire("r2"))
}
