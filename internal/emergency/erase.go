package emergency

// DropCategory removes what the emergency lane holds of a patient's category key, for a
// category erasure: every escrowed version (its public key and the custodians' wrapped
// shares) and the sealed shares already released to declaring providers. The declarations
// themselves, and their audit events, stay. It returns how many escrows it dropped.
func DropCategory(st Store, patient, category string) int {
	var keep []EscrowRef
	dropped := 0
	refs := escrowRefs(st, patient)
	for _, ref := range refs {
		if ref.Category != category {
			keep = append(keep, ref)
			continue
		}
		st.Delete(escrowKey(patient, ref.Category, ref.Version))
		dropped++
	}
	if dropped > 0 {
		if len(keep) == 0 {
			st.Delete(escrowListKey(patient))
		} else {
			save(st, escrowListKey(patient), keep)
		}
	}
	if ids := load[[]string](st, declListKey(patient)); ids != nil {
		for _, id := range *ids {
			d := load[Declaration](st, declKey(id))
			if d == nil {
				continue
			}
			changed := false
			for i := range d.Releases {
				if d.Releases[i].Category == category && d.Releases[i].Sealed != nil {
					d.Releases[i].Sealed, changed = nil, true
				}
			}
			if changed {
				save(st, declKey(id), d)
			}
		}
	}
	return dropped
}
