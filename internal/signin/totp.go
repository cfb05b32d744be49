package signin

import (
	"bytes"
	"errors"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: RFC 6238 defaults that every authenticator app supports.
const (
	totpPeriod = 30 // seconds per step
	totpSkew   = 1  // steps either side of now accepted (clock drift, typing time)
	totpIssuer = "ehrchain"
)

// Errors a second-factor check can return (shown to the person as is).
var (
	errTOTPWrong     = errors.New("that code is not right for this time: check your authenticator app's clock")
	errTOTPReplayed  = errors.New("that code was already used: wait for the next one")
	errTOTPMalformed = errors.New("a code is 6 digits")
)

// NewTOTPKey makes a fresh random secret for an account and its otpauth:// key.
func NewTOTPKey(account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// TOTPStep is the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// CheckTOTP returns the time step a code matches, if it matches one within the skew of now and
// is later than lastStep. A code whose step was already accepted is refused, so an
// intercepted or shoulder-surfed code cannot be used a second time.
func CheckTOTP(secret, code string, now time.Time, lastStep int64) (int64, error) {
	if len(code) != 6 || bytes.ContainsFunc([]byte(code), func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, errTOTPMalformed
	}
	cur := TOTPStep(now)
	replayed := false
	for _, step := range []int64{cur, cur - totpSkew, cur + totpSkew} {
		ok, err := hotp.ValidateCustom(code, uint64(step), secret, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		if step <= lastStep {
			replayed = true
			continue
		}
		return step, nil
	}
	if replayed {
		return 0, errTOTPReplayed
	}
	return 0, errTOTPWrong
}
