package erasure

import (
	"fmt"
	"slices"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// ExecErase erases what the patient asks for, all of it or, under a legal hold, nothing.
// Each erased record leaves a record.erase event carrying its tombstone's digest; each
// dropped category key a keys.erase event.
func ExecErase(st Store, env identity.Env, signer string, b *EraseBody) *tx.Error {
	if env.Signer == nil || env.Signer.Role != identity.Patient {
		return Space.Err(CodeUnauthorized, "only a patient erases records, and only their own; %s is not a patient", signer)
	}
	n := 0
	for _, set := range []bool{b.Record != "", b.Category != "", b.Chart} {
		if set {
			n++
		}
	}
	if n != 1 {
		return Space.Err(CodeInvalid, "an erasure names exactly one of: a record, a category, or the whole chart")
	}
	patient := signer
	var ids, cats []string
	var why string
	switch {
	case b.Record != "":
		if t := records.Erased(st, b.Record); t != nil && t.Patient == patient {
			return Space.Err(CodeErased, "record %s was already erased at height %d", b.Record, t.Height)
		}
		if m := records.Version(st, b.Record, records.Head(st, b.Record)); m == nil || m.Patient != patient {
			return Space.Err(CodeNotFound, "you have no record %s", b.Record)
		}
		ids, why = []string{b.Record}, "erasure of record "+b.Record
	case b.Category != "":
		if !consent.ValidCategory(b.Category) {
			return Space.Err(CodeInvalid, "category %q: use 1-48 lowercase letters, digits, '.', '_' or '-'", b.Category)
		}
		for _, id := range records.PatientRecordIDs(st, patient) {
			if slices.ContainsFunc(records.History(st, id), func(m *records.Meta) bool { return m.Category == b.Category }) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 && consent.CurrentKey(st, patient, b.Category) == nil {
			return Space.Err(CodeNotFound, "you have no records and no key in category %q", b.Category)
		}
		cats, why = []string{b.Category}, "erasure of category "+b.Category
	default:
		ids, cats, why = records.PatientRecordIDs(st, patient), consent.Categories(st, patient), "erasure of the whole chart"
	}
	if h := held(st, patient, ids, b.Record == ""); h != nil {
		what := "the chart"
		if h.Record != "" {
			what = "record " + h.Record
		}
		return Space.Err(CodeHeld, "%s is under legal hold %s (placed at height %d by %s: %s); nothing was erased", what, h.ID, h.PlacedAt, h.PlacedBy, h.Reason)
	}
	for _, id := range ids {
		t := records.Erase(st, id, records.Tombstone{Height: env.Height, Time: env.Time.Unix(), Tx: env.TxHash, By: signer, Reason: why})
		ev := event(env, signer, audit.RecordErase, patient, id, why)
		last := t.Versions[len(t.Versions)-1]
		ev.Version, ev.Category, ev.ResourceType, ev.Digest = last.Version, last.Category, last.ResourceType, t.Digest()
		st.Append(ev.Encode())
	}
	for _, c := range cats {
		v, shares := consent.DropCategory(st, patient, c)
		esc := emergency.DropCategory(st, patient, c)
		ev := event(env, signer, audit.KeysErase, patient, "", fmt.Sprintf("%s: dropped category key (last version %d), %d key shares in grants, %d emergency escrows", why, v, shares, esc))
		ev.Category = c
		st.Append(ev.Encode())
	}
	return nil
}

// held is the active hold that blocks erasing records ids; chart says the erasure also
// drops keys, which a chart-wide hold blocks even when no record is left.
func held(r Reader, patient string, ids []string, chart bool) *Hold {
	for _, h := range Holds(r, patient) {
		if !h.Active() {
			continue
		}
		if h.Record == "" && (chart || len(ids) > 0) {
			return h
		}
		if slices.Contains(ids, h.Record) {
			return h
		}
	}
	return nil
}
