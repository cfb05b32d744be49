package portal

import (
	"path/filepath"
	"time"

	"github.com/ehrchain/ehrchain/internal/signin"
)

// ResetFactors removes an identity's second factors (TOTP secret and passkeys) from the node's
// store, for someone who lost their device: their next sign-in enrols afresh after the
// passphrase. It must run while the node is stopped (the running node owns the store), and
// is logged in the sign-in log with who asked and why.
func ResetFactors(home, id, name, reason string) (had bool, err error) {
	si, err := signin.Open(filepath.Join(home, "portal"), signin.Limits{})
	if err != nil {
		return false, err
	}
	defer si.Close()
	st := si.Factors()
	had = st.Get(id).Enrolled()
	if err := st.Update(id, func(f *signin.Factors) error {
		f.TOTPSecret, f.TOTPLastStep, f.Passkeys = "", 0, nil
		return nil
	}); err != nil {
		return had, err
	}
	return had, si.Record(signin.Event{Time: time.Now().UTC(), Event: signin.EvReset, Name: name, ID: id, Method: "cli", Reason: reason})
}
