package api

import (
	"net/http"
	"strings"

	"github.com/ehrchain/ehrchain/internal/emergency"
)

func (s *Server) routeEmergency() {
	s.mux.HandleFunc("GET /v1/emergency/custodians", s.emergencyCustodians)
	s.mux.HandleFunc("GET /v1/emergency/declarations", s.emergencyDeclarations)
	s.mux.HandleFunc("GET /v1/emergency/declarations/{id}", s.emergencyDeclaration)
	s.mux.HandleFunc("GET /v1/patients/{id}/emergency", s.patientEmergency)
}

// Custodians is the answer of GET /v1/emergency/custodians.
type Custodians struct {
	Height     int64                  `json:"height"`
	Custodians []*emergency.Custodian `json:"custodians"`
}

func (s *Server) emergencyCustodians(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	out := Custodians{Height: v.Height(), Custodians: []*emergency.Custodian{}}
	v.Iterate(emergency.CustodianPrefix, func(k, _ []byte) bool {
		if c := emergency.GetCustodian(v, strings.TrimPrefix(string(k), string(emergency.CustodianPrefix))); c != nil {
			out.Custodians = append(out.Custodians, c)
		}
		return true
	})
	writeJSON(w, http.StatusOK, out)
}

// Declarations is the answer of GET /v1/emergency/declarations.
type Declarations struct {
	Height       int64                    `json:"height"`
	Declarations []*emergency.Declaration `json:"declarations"`
}

// emergencyDeclarations lists every declaration (?active=1: those whose window is open at
// the last block time), which custodian nodes watch.
func (s *Server) emergencyDeclarations(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	out := Declarations{Height: v.Height(), Declarations: []*emergency.Declaration{}}
	activeOnly := r.URL.Query().Get("active") == "1"
	st, err := s.b.Status(r.Context())
	if activeOnly && err != nil {
		writeErr(w, Space.Err(CodeInternal, "status: %v", err))
		return
	}
	v.Iterate(emergency.DeclarationPrefix, func(k, _ []byte) bool {
		d := emergency.GetDeclaration(v, strings.TrimPrefix(string(k), string(emergency.DeclarationPrefix)))
		if d != nil && (!activeOnly || d.Active(st.BlockTime)) {
			out.Declarations = append(out.Declarations, d)
		}
		return true
	})
	writeJSON(w, http.StatusOK, out)
}

// DeclarationResponse is the answer of GET /v1/emergency/declarations/{id}: the
// declaration with the escrows its releases open.
type DeclarationResponse struct {
	Height      int64                  `json:"height"`
	Declaration *emergency.Declaration `json:"declaration"`
	Escrows     []*emergency.Escrow    `json:"escrows"`
}

func (s *Server) emergencyDeclaration(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	d := emergency.GetDeclaration(v, r.PathValue("id"))
	if d == nil {
		writeErr(w, emergency.Space.Err(emergency.CodeNotFound, "no emergency declaration %s", r.PathValue("id")))
		return
	}
	out := DeclarationResponse{Height: v.Height(), Declaration: d, Escrows: []*emergency.Escrow{}}
	for _, e := range emergency.Escrows(v, d.Patient) {
		for _, c := range d.Categories {
			if e.Category == c {
				out.Escrows = append(out.Escrows, e)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// PatientEmergency is the answer of GET /v1/patients/{id}/emergency: what a patient (or
// their client) checks to be notified of break-glass use.
type PatientEmergency struct {
	Height       int64                    `json:"height"`
	Visible      []string                 `json:"visible"`
	OptedOut     []string                 `json:"opted_out"`
	Escrows      []*emergency.Escrow      `json:"escrows"`
	Declarations []*emergency.Declaration `json:"declarations"`
}

func (s *Server) patientEmergency(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	out := PatientEmergency{Height: v.Height(), Visible: emergency.Visible(v, id), OptedOut: emergency.OptedOut(v, id),
		Escrows: emergency.Escrows(v, id), Declarations: emergency.Declarations(v, id)}
	if out.Visible == nil {
		out.Visible = []string{}
	}
	if out.OptedOut == nil {
		out.OptedOut = []string{}
	}
	if out.Escrows == nil {
		out.Escrows = []*emergency.Escrow{}
	}
	if out.Declarations == nil {
		out.Declarations = []*emergency.Declaration{}
	}
	writeJSON(w, http.StatusOK, out)
}
