package emergency

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestVisibility: each party sees exactly its part of a patient's break-glass use, and
// every way past the rule (a retired or foreign custodian, an enrolment of someone else, a
// deactivated identity, another patient, the registrar) sees nothing.
func TestVisibility(t *testing.T) {
	who := func(id string, role identity.Role) *identity.Identity {
		return &identity.Identity{ID: id, Role: role, Active: true}
	}
	const pat, other = "pat", "other-pat"
	esc := func(cat string, custodians ...string) *Escrow {
		e := &Escrow{Patient: pat, Category: cat, Version: 1}
		for _, c := range custodians {
			e.Shares = append(e.Shares, EscrowShare{Custodian: c})
		}
		return e
	}
	general, mental := esc("general", "c1", "c2"), esc("mental-health", "c2", "c3")
	escrows := []*Escrow{general, mental}
	d1 := &Declaration{ID: "e-1", Patient: pat, Provider: "dr1", Reason: "road accident", Categories: []string{"general"},
		Justification: &Statement{Text: "unconscious"}}
	d2 := &Declaration{ID: "e-2", Patient: pat, Provider: "dr2", Reason: "overdose", Categories: []string{"general", "mental-health"}}
	st := PatientState{Visible: []string{"general", "mental-health"}, OptedOut: []string{"hiv"}, Escrows: escrows,
		Declarations: []*Declaration{d1, d2}}
	cust := func(id string) Viewer {
		return Viewer{Who: who(id, identity.Provider), Custodian: &Custodian{ID: id, Institution: id, Active: true}}
	}
	gone := who("dr1", identity.Provider)
	gone.Active = false
	retired := cust("c1")
	retired.Custodian.Active = false
	stolen := Viewer{Who: who("dr1", identity.Provider), Custodian: &Custodian{ID: "c1", Active: true}}

	for _, c := range []struct {
		name     string
		v        Viewer
		list     bool     // MayList
		patient  bool     // ShowPatient ok
		decls    []string // declarations ShowPatient shows
		escrows  int      // escrows ShowPatient shows
		optOuts  int
		redacted bool // reasons stripped
		d2Escrow int  // escrows ShowDeclaration(d2) shows; -1: refused
	}{
		{"the patient", Viewer{Who: who(pat, identity.Patient)}, true, true, []string{"e-1", "e-2"}, 2, 1, false, 2},
		{"an auditor", Viewer{Who: who("aud", identity.Auditor)}, true, true, []string{"e-1", "e-2"}, 2, 1, false, 2},
		{"the first declaring provider", Viewer{Who: who("dr1", identity.Provider)}, true, true, []string{"e-1"}, 0, 0, false, -1},
		{"the second declaring provider", Viewer{Who: who("dr2", identity.Provider)}, true, true, []string{"e-2"}, 0, 0, false, 2},
		{"a provider who declared nothing", Viewer{Who: who("dr3", identity.Provider)}, true, true, nil, 0, 0, false, -1},
		{"a custodian of general", cust("c1"), true, true, []string{"e-1", "e-2"}, 1, 0, true, 1},
		{"a custodian of both", cust("c2"), true, true, []string{"e-1", "e-2"}, 2, 0, true, 2},
		{"a custodian of mental-health only", cust("c3"), true, true, []string{"e-2"}, 1, 0, true, 1},
		{"a custodian of someone else", cust("c9"), true, true, nil, 0, 0, true, -1},
		{"a retired custodian", retired, true, true, nil, 0, 0, true, -1},
		{"a provider holding another's enrolment", stolen, true, true, []string{"e-1"}, 0, 0, false, -1},
		{"a deactivated provider", Viewer{Who: gone}, false, false, nil, 0, 0, false, -1},
		{"another patient", Viewer{Who: who(other, identity.Patient)}, true, false, nil, 0, 0, false, -1},
		{"the registrar", Viewer{Who: who("reg", identity.Registrar)}, false, false, nil, 0, 0, false, -1},
		{"an insurer", Viewer{Who: who("ins", identity.Insurer)}, false, false, nil, 0, 0, false, -1},
		{"an unsigned query", Viewer{}, false, false, nil, 0, 0, false, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.v.MayList(); got != c.list {
				t.Errorf("MayList = %v, want %v", got, c.list)
			}
			out, ok := ShowPatient(c.v, pat, st)
			if ok != c.patient {
				t.Fatalf("ShowPatient ok = %v, want %v", ok, c.patient)
			}
			var ids []string
			for _, d := range out.Declarations {
				ids = append(ids, d.ID)
				if (d.Reason == "") != c.redacted || (d.ID == "e-1" && (d.Justification == nil) != c.redacted) {
					t.Errorf("%s: reason %q, justification %v; redacted should be %v", d.ID, d.Reason, d.Justification, c.redacted)
				}
			}
			if len(ids) != len(c.decls) || (len(ids) > 0 && ids[0] != c.decls[0]) || (len(ids) > 1 && ids[1] != c.decls[1]) {
				t.Errorf("declarations %v, want %v", ids, c.decls)
			}
			if len(out.Escrows) != c.escrows || len(out.OptedOut) != c.optOuts {
				t.Errorf("%d escrows and %d opt-outs, want %d and %d", len(out.Escrows), len(out.OptedOut), c.escrows, c.optOuts)
			}
			if out.Visible == nil || out.OptedOut == nil || out.Escrows == nil || out.Declarations == nil {
				t.Errorf("a nil list in %+v", out)
			}
			shown, es, ok := ShowDeclaration(c.v, d2, escrows)
			if want := c.d2Escrow >= 0; ok != want || (ok && len(es) != c.d2Escrow) {
				t.Fatalf("ShowDeclaration(e-2) = %v with %d escrows, want %v with %d", ok, len(es), want, c.d2Escrow)
			}
			if ok && shown.Reason == "" != c.redacted {
				t.Errorf("e-2 reason %q, redacted should be %v", shown.Reason, c.redacted)
			}
		})
	}
	if d2.Reason != "overdose" || d1.Justification == nil {
		t.Fatal("redaction changed the stored declaration")
	}
	if _, _, ok := ShowDeclaration(Viewer{Who: who(pat, identity.Patient)}, &Declaration{ID: "e-3", Patient: other, Provider: "dr1"}, nil); ok {
		t.Fatal("a patient sees another patient's declaration")
	}
}
