package wire

import "github.com/ehrchain/ehrchain/internal/emergency"

// Custodians is the answer of GET /v1/emergency/custodians.
type Custodians struct {
	Height     int64                  `json:"height"`
	Custodians []*emergency.Custodian `json:"custodians"`
}

// Declarations is the answer of GET /v1/emergency/declarations.
type Declarations struct {
	Height       int64                    `json:"height"`
	Declarations []*emergency.Declaration `json:"declarations"`
}

// DeclarationResponse is the answer of GET /v1/emergency/declarations/{id}: the
// declaration with the escrows its releases open.
type DeclarationResponse struct {
	Height      int64                  `json:"height"`
	Declaration *emergency.Declaration `json:"declaration"`
	Escrows     []*emergency.Escrow    `json:"escrows"`
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
