package bench

import (
	"encoding/hex"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// benchPlan is the insurer's plan in the claims workload: a copay on the visit, coinsurance
// and a yearly limit on vaccines, so each claim reads and writes usage state.
var benchPlan = claims.Plan{ID: "bench", Name: "Bench plan", Effective: "2020-01-01", Benefits: []claims.Benefit{
	{System: "http://snomed.info/sct", Code: "185349003", Copay: 2000},
	{System: "http://hl7.org/fhir/sid/cvx", Code: claims.Any, CoinsuranceBP: 2000, PeriodLimit: 1_000_000_000},
}}

// prepareClaims builds the claims workload: provider i records an Encounter for patient i
// (setup) and then submits one two-line claim per encounter (timed), to one insurer the
// patients enrolled with and consented to for payment.
func prepareClaims(chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	p := max(1, min(actors, txs))
	provs, err := keystores("claims-dr", p)
	if err != nil {
		return nil, err
	}
	pats, err := keystores("claims-pt", p)
	if err != nil {
		return nil, err
	}
	ins, err := keys.NewKeystore("claims-insurer")
	if err != nil {
		return nil, err
	}
	cat := make([]*keys.KeyPair, p)
	if err := parallel(p, func(i int) (err error) {
		cat[i], err = keys.Generate()
		pats[i].AddCategoryKey("general", 1, cat[i].Enc)
		return err
	}); err != nil {
		return nil, err
	}
	sign := func(k *keys.Keystore, seq uint64, b tx.Body) []byte {
		s, _ := tx.ParseSigner(k.ID)
		return tx.Sign(k.Keys.Sign, s, chainID, seq, b).Encode()
	}
	regStream := [][]byte{sign(reg, regSeq, client.RegistrationFor(chainID, ins, identity.Insurer, "Bench Insurer", "Bench Mutual", ""))}
	insStream := [][]byte{sign(ins, 0, &claims.PublishPlanBody{Plan: benchPlan})}
	regPatients, publish, grants := make([][][]byte, p), make([][][]byte, p), make([][][]byte, p)
	for i := range p {
		prov, pat := provs[i], pats[i]
		regStream = append(regStream, sign(reg, regSeq+uint64(i)+1, client.RegistrationFor(chainID, prov, identity.Provider, prov.Name, "Bench Hospital", "MD-"+prov.Name)))
		regPatients[i] = [][]byte{sign(prov, 0, client.RegistrationFor(chainID, pat, identity.Patient, pat.Name, "", ""))}
		publish[i] = [][]byte{sign(pat, 0, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cat[i].Enc.PublicKey().Bytes()}}})}
		grants[i] = [][]byte{sign(pat, 1, &consent.GrantBody{Grant: consent.Grant{Patient: pat.ID, Grantee: ins.ID,
			Scope:   consent.Scope{Categories: []string{"general"}, ResourceTypes: []string{claims.ClaimResourceType}},
			Actions: []string{consent.Read}, Purposes: []string{consent.Payment}}})} // claims only: no key share
		insStream = append(insStream, sign(ins, uint64(i)+1, &claims.EnrollBody{Patient: pat.ID, Plan: benchPlan.ID, MemberID: fmt.Sprintf("B-%d", i), Start: "2020-01-01"}))
	}
	per := make([]int, p)
	for i := range txs {
		per[i%p]++
	}
	encounters, submits := make([][][]byte, p), make([][][]byte, p)
	err = parallel(p, func(i int) error {
		for k := range per[i] {
			body, err := EncryptedObservation(provs[i], pats[i].ID, cat[i].EncPublic())
			if err != nil {
				return err
			}
			body.Meta.ResourceType = "Encounter"
			encounters[i] = append(encounters[i], sign(provs[i], uint64(k+1), body.Wire()))
			claim := &claims.SubmitBody{Patient: pats[i].ID, Insurer: ins.ID, ServiceDate: "2025-03-01",
				Encounter: claims.EncounterRef{Record: body.Meta.RecordID, Version: 1, Digest: hex.EncodeToString(body.Meta.Digest[:])},
				Lines: []claims.LineInput{
					{Seq: 1, System: "http://snomed.info/sct", Code: "185349003", Quantity: 1, Charge: 12500},
					{Seq: 2, System: "http://hl7.org/fhir/sid/cvx", Code: "140", Quantity: 1, Charge: 14052},
				}}
			submits[i] = append(submits[i], sign(provs[i], uint64(per[i]+k+1), claim))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w := &workload{name: Claims, streams: submits, txs: txs,
		setup: [][][][]byte{{regStream}, append(regPatients, insStream[:1]), publish, grants, {insStream[1:]}, encounters}}
	w.count()
	return w, nil
}
