package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// providerEmergency is the break-glass part of a provider's patient page: the provider's
// own declarations for this patient, the one open now if any.
type providerEmergency struct {
	Active *emergency.Declaration
	Mine   []*emergency.Declaration // newest first
	Hours  int                      // default window offered by the declare form
}

// myDeclarations lists the provider's declarations for a patient, newest first, and the
// one whose window is open at the last block's time (the ledger's clock, which decides).
// The query is signed as the provider, who is answered only its own declarations.
func (p *Portal) myDeclarations(ctx context.Context, provider *keys.Keystore, patient string) (providerEmergency, error) {
	out := providerEmergency{Hours: int(emergency.DefaultWindow / time.Hour)}
	pe, err := p.cl.As(provider).PatientEmergency(ctx, patient)
	if err != nil {
		return out, err
	}
	st, err := p.cl.Status(ctx)
	if err != nil {
		return out, err
	}
	for i := len(pe.Declarations) - 1; i >= 0; i-- {
		d := pe.Declarations[i]
		if d.Provider != provider.ID {
			continue
		}
		out.Mine = append(out.Mine, d)
		if out.Active == nil && d.Active(st.BlockTime) {
			out.Active = d
		}
	}
	return out, nil
}

// readRecord reads one record for purpose. Under purpose emergency it decrypts with the
// category key rebuilt from the custodians' released shares (when no grant covers it).
func (p *Portal) readRecord(ctx context.Context, who *keys.Keystore, patient, record, purpose string) (*client.ReadResult, error) {
	if purpose == consent.Emergency {
		return p.cl.EmergencyRead(ctx, who, patient, record)
	}
	return p.cl.ReadRecord(ctx, who, patient, record, purpose)
}

// declare declares an emergency for the patient: the same transaction as `ehrchain
// emergency declare`, covering every category the patient made emergency-visible.
func (p *Portal) declare(w http.ResponseWriter, r *http.Request, s *session) {
	pid := r.PathValue("patient")
	if !keys.ValidID(pid) {
		p.fail(w, r, s, http.StatusBadRequest, "%q is not an identity id.", pid)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "Say why the patient needs emergency care: the reason is shown to the patient and the auditor.")
		return
	}
	hours, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("hours")))
	if err != nil || hours < 1 || time.Duration(hours)*time.Hour > emergency.MaxWindow {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The window is a whole number of hours from 1 to "+itoa(int64(emergency.MaxWindow/time.Hour))+".")
		return
	}
	id, err := p.cl.Declare(r.Context(), s.ks, emergency.DeclareBody{Patient: pid, Reason: reason, Window: int64(hours) * 3600})
	if err != nil {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The ledger refused the declaration: "+errText(err))
		return
	}
	s.flash = "Emergency declared (" + id + "). The patient is told; custodian institutions release the key shares to you; justify the access afterwards."
	redirect(w, r, Prefix+"provider/patients/"+pid+"?purpose="+consent.Emergency)
}

// justify submits the declaring provider's justification of one of their declarations.
func (p *Portal) justify(w http.ResponseWriter, r *http.Request, s *session) {
	pid, id := r.PathValue("patient"), r.PathValue("declaration")
	if !keys.ValidID(pid) || !validDeclID(id) {
		p.fail(w, r, s, http.StatusBadRequest, "Not a patient and declaration id.")
		return
	}
	text := strings.TrimSpace(r.PostFormValue("justification"))
	if text == "" {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The justification is empty.")
		return
	}
	if err := p.cl.Justify(r.Context(), s.ks, id, text); err != nil {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The ledger refused the justification: "+errText(err))
		return
	}
	s.flash = "Justification of " + id + " recorded; an auditor reviews it."
	redirect(w, r, Prefix+"provider/patients/"+pid)
}
