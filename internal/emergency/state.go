package emergency

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state the handlers use.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Delete(key []byte)
	Append(leaf []byte) uint64
}

// Reader is the state lookups need.
type Reader interface{ Get(key []byte) []byte }

// Custodian is an institution's escrow identity: its node holds the keystore that opens
// the shares sealed to it.
type Custodian struct {
	ID          string `json:"id"`
	Institution string `json:"institution"`
	Active      bool   `json:"active"`
	EnrolledAt  int64  `json:"enrolled_at"`
	RetiredAt   int64  `json:"retired_at,omitempty"`
}

// Escrow is one escrowed category key version. EncKey is the category public key it
// rebuilds, so a provider can check a reconstruction.
type Escrow struct {
	Patient   string        `json:"patient"`
	Category  string        `json:"category"`
	Version   uint32        `json:"version"`
	EncKey    []byte        `json:"enc_key"`
	Threshold int           `json:"threshold"`
	Shares    []EscrowShare `json:"shares"`
	Height    int64         `json:"height"`
}

// Declaration is an emergency declaration with everything that followed it.
type Declaration struct {
	ID            string     `json:"id"`
	Patient       string     `json:"patient"`
	Provider      string     `json:"provider"`
	Organization  string     `json:"organization,omitempty"`
	Reason        string     `json:"reason"`
	Purpose       string     `json:"purpose"` // always "emergency" (ETREAT)
	Categories    []string   `json:"categories"`
	Start         time.Time  `json:"start"`
	Expiry        time.Time  `json:"expiry"`
	Height        int64      `json:"height"`
	Releases      []Release  `json:"releases,omitempty"`
	Justification *Statement `json:"justification,omitempty"`
	Review        *Verdict   `json:"review,omitempty"`
}

// Release is one custodian's share, sealed to the declaring provider.
type Release struct {
	Custodian string `json:"custodian"`
	Category  string `json:"category"`
	Version   uint32 `json:"version"`
	Slot      int    `json:"slot"`   // position of the custodian's share in the escrow
	Escrow    int64  `json:"escrow"` // height of the escrow it was opened from (a re-escrow starts afresh)
	Sealed    []byte `json:"sealed"`
	Height    int64  `json:"height"`
}

// Statement is the provider's justification.
type Statement struct {
	Text   string    `json:"text"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
}

// Verdict is an auditor's review.
type Verdict struct {
	Auditor string    `json:"auditor"`
	Verdict string    `json:"verdict"`
	Note    string    `json:"note,omitempty"`
	Height  int64     `json:"height"`
	Time    time.Time `json:"time"`
}

// Active reports whether the window is open at block time t.
func (d *Declaration) Active(t time.Time) bool { return !t.Before(d.Start) && t.Before(d.Expiry) }

// State keys (Merkle map). Everything under "em/".
func custodianKey(id string) []byte { return []byte("em/cust/" + id) }
func escrowKey(patient, category string, v uint32) []byte {
	return []byte("em/esc/" + patient + "/" + category + "/" + strconv.FormatUint(uint64(v), 10))
}
func escrowListKey(patient string) []byte { return []byte("em/escs/" + patient) }
func optOutKey(patient string) []byte     { return []byte("em/optout/" + patient) }
func declKey(id string) []byte            { return []byte("em/decl/" + id) }
func declListKey(patient string) []byte   { return []byte("em/decls/" + patient) }

// DeclarationPrefix is where declarations are stored, for listing them all.
var DeclarationPrefix = []byte("em/decl/")

// CustodianPrefix is where custodians are stored.
var CustodianPrefix = []byte("em/cust/")

func load[T any](r Reader, key []byte) *T { return tx.LoadJSON[T](r, key, "emergency") }

func save(st Store, key []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	st.Set(key, b)
}

// GetCustodian loads a custodian, or nil.
func GetCustodian(r Reader, id string) *Custodian { return load[Custodian](r, custodianKey(id)) }

// GetEscrow loads one escrowed key version, or nil.
func GetEscrow(r Reader, patient, category string, v uint32) *Escrow {
	return load[Escrow](r, escrowKey(patient, category, v))
}

// EscrowRef names one escrowed key version.
type EscrowRef struct {
	Category string `json:"category"`
	Version  uint32 `json:"version"`
}

func escrowRefs(r Reader, patient string) []EscrowRef {
	if p := load[[]EscrowRef](r, escrowListKey(patient)); p != nil {
		return *p
	}
	return nil
}

// Escrows lists a patient's escrowed key versions (withdrawn ones are gone), oldest first.
func Escrows(r Reader, patient string) []*Escrow {
	var out []*Escrow
	for _, ref := range escrowRefs(r, patient) {
		if e := GetEscrow(r, patient, ref.Category, ref.Version); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// OptedOut lists the categories a patient opted out of break-glass.
func OptedOut(r Reader, patient string) []string {
	if p := load[[]string](r, optOutKey(patient)); p != nil {
		return *p
	}
	return nil
}

// Visible lists the patient's emergency-visible categories: escrowed and not opted out.
func Visible(r Reader, patient string) []string {
	out := OptedOut(r, patient)
	var cats []string
	for _, e := range Escrows(r, patient) {
		if !slices.Contains(out, e.Category) && !slices.Contains(cats, e.Category) {
			cats = append(cats, e.Category)
		}
	}
	return cats
}

// GetDeclaration loads a declaration, or nil.
func GetDeclaration(r Reader, id string) *Declaration { return load[Declaration](r, declKey(id)) }

// Declarations lists every declaration made for a patient, oldest first.
func Declarations(r Reader, patient string) []*Declaration {
	var out []*Declaration
	if ids := load[[]string](r, declListKey(patient)); ids != nil {
		for _, id := range *ids {
			if d := GetDeclaration(r, id); d != nil {
				out = append(out, d)
			}
		}
	}
	return out
}
