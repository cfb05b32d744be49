package portal

import (
	"path/filepath"
	"time"
)

// evReset is logged when an administrator removes an identity's second factors.
const evReset = "factor.reset"

// ResetFactors removes an identity's second factors (TOTP secret and passkeys) from the node's
// store, for someone who lost their device: their next sign-in enrols afresh after the
// passphrase. It must run while the node is stopped (the running portal owns the store), and
// is logged in the sign-in log with who asked and why.
func ResetFactors(home, id, name, reason string) (had bool, err error) {
	dir := filepath.Join(home, "portal")
	st, err := OpenStore(dir)
	if err != nil {
		return false, err
	}
	had = st.Get(id).Enrolled()
	if err := st.Update(id, func(f *Factors) error {
		f.TOTPSecret, f.TOTPLastStep, f.Passkeys = "", 0, nil
		return nil
	}); err != nil {
		return had, err
	}
	lg, err := openSignInLog(dir)
	if err != nil {
		return had, err
	}
	defer lg.close()
	return had, lg.add(SignInEvent{Time: time.Now().UTC(), Event: evReset, Name: name, ID: id, Method: "cli", Reason: reason})
}
