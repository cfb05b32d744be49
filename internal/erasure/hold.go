package erasure

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Hold is a legal hold: while it is not lifted, the patient's chart (or the one record it
// names) cannot be erased. Lifted holds stay in state, so the history of a chart's holds
// can be read and proven.
type Hold struct {
	ID       string `json:"id"`
	Patient  string `json:"patient"`
	Record   string `json:"record,omitempty"` // empty: the whole chart
	Reason   string `json:"reason"`
	PlacedBy string `json:"placed_by"`
	PlacedAt int64  `json:"placed_at"` // height
	LiftedBy string `json:"lifted_by,omitempty"`
	LiftedAt int64  `json:"lifted_at,omitempty"`
	Lift     string `json:"lift_reason,omitempty"`
}

// Active reports whether the hold still blocks erasure.
func (h *Hold) Active() bool { return h.LiftedAt == 0 }

// Covers reports whether the hold blocks erasing record id (a whole-chart erasure is
// blocked by any active hold on the patient).
func (h *Hold) Covers(id string) bool {
	return h.Active() && (h.Record == "" || id == "" || h.Record == id)
}

func holdKey(patient, id string) []byte { return []byte("hold/" + patient + "/" + id) }
func holdListKey(patient string) []byte { return []byte("holds/" + patient) }

// HoldID is the id of the hold placed by the transaction with this hash.
func HoldID(txHash string) string { return "h-" + txHash[:16] }

// Store is the state the erasure handlers use.
type Store interface {
	records.EraseStore
	records.KeyLister
	Delete(key []byte)
}

// Reader reads holds.
type Reader interface{ Get(key []byte) []byte }

// GetHold loads a hold, or nil.
func GetHold(r Reader, patient, id string) *Hold {
	b := r.Get(holdKey(patient, id))
	if b == nil {
		return nil
	}
	var h Hold
	if err := json.Unmarshal(b, &h); err != nil {
		panic(fmt.Errorf("hold %s is corrupt: %w", id, err))
	}
	return &h
}

// Holds lists every hold placed on a patient, lifted ones included, oldest first.
func Holds(r Reader, patient string) []*Hold {
	var ids []string
	if b := r.Get(holdListKey(patient)); b != nil {
		if err := json.Unmarshal(b, &ids); err != nil {
			panic(fmt.Errorf("hold list of %s is corrupt: %w", patient, err))
		}
	}
	var out []*Hold
	for _, id := range ids {
		if h := GetHold(r, patient, id); h != nil {
			out = append(out, h)
		}
	}
	return out
}

func save(st Store, h *Hold) {
	b, _ := json.Marshal(h)
	st.Set(holdKey(h.Patient, h.ID), b)
}

// mayHold: holds are placed and lifted by those answerable for legal process.
func mayHold(env identity.Env, signer, what string) *tx.Error {
	if env.Signer == nil || (env.Signer.Role != identity.Auditor && env.Signer.Role != identity.Registrar) {
		return Space.Err(CodeUnauthorized, "only an auditor or the registrar may %s a legal hold; %s is not one", what, signer)
	}
	return nil
}

func checkReason(r string) *tx.Error {
	if strings.TrimSpace(r) == "" || len(r) > 500 || !utf8.ValidString(r) {
		return Space.Err(CodeInvalid, "a legal hold needs a reason (1 to 500 characters of text): it is what the audit trail shows")
	}
	return nil
}

// ExecHold places a legal hold on a patient's chart or one of its records.
func ExecHold(st Store, env identity.Env, signer string, b *HoldBody) *tx.Error {
	if err := mayHold(env, signer, "place"); err != nil {
		return err
	}
	if err := checkReason(b.Reason); err != nil {
		return err
	}
	p := identity.Get(st, b.Patient)
	if p == nil || p.Role != identity.Patient {
		return Space.Err(CodeNotFound, "%s is not a registered patient", b.Patient)
	}
	if b.Record != "" {
		if m := records.Version(st, b.Record, records.Head(st, b.Record)); m == nil || m.Patient != b.Patient {
			if t := records.Erased(st, b.Record); t != nil && t.Patient == b.Patient {
				return Space.Err(CodeErased, "record %s was erased at height %d; there is nothing left to hold", b.Record, t.Height)
			}
			return Space.Err(CodeNotFound, "patient %s has no record %s", b.Patient, b.Record)
		}
	}
	h := &Hold{ID: HoldID(env.TxHash), Patient: b.Patient, Record: b.Record, Reason: b.Reason, PlacedBy: signer, PlacedAt: env.Height}
	save(st, h)
	var ids []string
	for _, o := range Holds(st, b.Patient) {
		ids = append(ids, o.ID)
	}
	lb, _ := json.Marshal(append(ids, h.ID))
	st.Set(holdListKey(b.Patient), lb)
	st.Append(event(env, signer, audit.HoldPlace, b.Patient, b.Record, "legal hold "+h.ID+": "+b.Reason).Encode())
	return nil
}

// ExecLift lifts a hold.
func ExecLift(st Store, env identity.Env, signer string, b *LiftBody) *tx.Error {
	if err := mayHold(env, signer, "lift"); err != nil {
		return err
	}
	if err := checkReason(b.Reason); err != nil {
		return err
	}
	h := GetHold(st, b.Patient, b.Hold)
	if h == nil {
		return Space.Err(CodeNotFound, "patient %s has no legal hold %s", b.Patient, b.Hold)
	}
	if !h.Active() {
		return Space.Err(CodeLifted, "legal hold %s was already lifted at height %d by %s", h.ID, h.LiftedAt, h.LiftedBy)
	}
	h.LiftedBy, h.LiftedAt, h.Lift = signer, env.Height, b.Reason
	save(st, h)
	st.Append(event(env, signer, audit.HoldLift, b.Patient, h.Record, "legal hold "+h.ID+" lifted: "+b.Reason).Encode())
	return nil
}

func event(env identity.Env, signer, action, patient, record, reason string) *audit.Event {
	ev := env.SignerEvent(signer, action)
	ev.Patient, ev.Record, ev.Reason = patient, record, reason
	return ev
}
