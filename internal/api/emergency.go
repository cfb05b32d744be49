package api

import (
	"net/http"
	"strings"

	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (s *Server) routeEmergency() {
	s.mux.HandleFunc("GET /v1/emergency/custodians", s.emergencyCustodians)
	s.mux.HandleFunc("GET /v1/emergency/declarations", s.emergencyDeclarations)
	s.mux.HandleFunc("GET /v1/emergency/declarations/{id}", s.emergencyDeclaration)
	s.mux.HandleFunc("GET /v1/patients/{id}/emergency", s.patientEmergency)
}

func (s *Server) emergencyCustodians(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	out := wire.Custodians{Height: v.Height(), Custodians: []*emergency.Custodian{}}
	v.Iterate(emergency.CustodianPrefix, func(k, _ []byte) bool {
		if c := emergency.GetCustodian(v, strings.TrimPrefix(string(k), string(emergency.CustodianPrefix))); c != nil {
			out.Custodians = append(out.Custodians, c)
		}
		return true
	})
	writeJSON(w, http.StatusOK, out)
}

// viewer is the signed requester as emergency.ShowDeclaration needs it, or an error for an
// unsigned or badly signed query: who broke the glass for whom is answered to no one
// anonymous.
func (s *Server) viewer(r *http.Request, v View, what string, args ...any) (emergency.Viewer, *tx.Error) {
	who, err := s.signedRequester(r, v, what, args...)
	if err != nil {
		return emergency.Viewer{}, err
	}
	return emergency.Viewer{Who: who, Custodian: emergency.GetCustodian(v, who.ID)}, nil
}

// emergencyDeclarations lists the declarations the signed requester may see (?active=1:
// those whose window is open at the last block time): custodian nodes watch it for the
// declarations that ask for their shares.
func (s *Server) emergencyDeclarations(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	const what = "emergency declarations (they say which provider opened which patient's records, and why)"
	ev, terr := s.viewer(r, v, what)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if !ev.MayList() {
		writeErr(w, notEntitled(ev.Who, "%s: sign the query as a patient, a provider, an escrow custodian or an auditor", what))
		return
	}
	out := wire.Declarations{Height: v.Height(), Declarations: []*emergency.Declaration{}}
	activeOnly := r.URL.Query().Get("active") == "1"
	st, err := s.b.Status(r.Context())
	if activeOnly && err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	escrows := map[string][]*emergency.Escrow{} // per patient, loaded once
	v.Iterate(emergency.DeclarationPrefix, func(k, _ []byte) bool {
		d := emergency.GetDeclaration(v, strings.TrimPrefix(string(k), string(emergency.DeclarationPrefix)))
		if d == nil || (activeOnly && !d.Active(st.BlockTime)) {
			return true
		}
		es, ok := escrows[d.Patient]
		if !ok {
			es = emergency.Escrows(v, d.Patient)
			escrows[d.Patient] = es
		}
		if shown, _, ok := emergency.ShowDeclaration(ev, d, es); ok {
			out.Declarations = append(out.Declarations, shown)
		}
		return true
	})
	writeJSON(w, http.StatusOK, out)
}

// emergencyDeclaration answers one declaration to the patient, the declaring provider, a
// custodian asked for a share, or an auditor (emergency.ShowDeclaration).
func (s *Server) emergencyDeclaration(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	ev, terr := s.viewer(r, v, "emergency declaration %s", id)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	d := emergency.GetDeclaration(v, id)
	if d == nil {
		writeErr(w, emergency.Space.Err(emergency.CodeNotFound, "no emergency declaration %s", id))
		return
	}
	shown, escrows, ok := emergency.ShowDeclaration(ev, d, emergency.Escrows(v, d.Patient))
	if !ok {
		writeErr(w, notEntitled(ev.Who, "emergency declaration %s: sign the query as the patient, the declaring provider, a custodian it asks for a share, or an auditor", id))
		return
	}
	writeJSON(w, http.StatusOK, wire.DeclarationResponse{Height: v.Height(), Declaration: shown, Escrows: escrows})
}

// patientEmergency answers a patient's break-glass state as the signed requester may see
// it (emergency.ShowPatient).
func (s *Server) patientEmergency(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	ev, terr := s.viewer(r, v, "patient %s's emergency access", id)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	st, ok := emergency.ShowPatient(ev, id, emergency.LoadPatient(v, id))
	if !ok {
		writeErr(w, notEntitled(ev.Who, "patient %s's emergency access: sign the query as the patient, a provider (its own declarations), a custodian (those asking for its shares) or an auditor", id))
		return
	}
	writeJSON(w, http.StatusOK, wire.PatientEmergency{Height: v.Height(), Visible: st.Visible, OptedOut: st.OptedOut,
		Escrows: st.Escrows, Declarations: st.Declarations})
}
