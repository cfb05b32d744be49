package main

import (
	"path/filepath"

	"github.com/ehrchain/ehrchain/internal/signin"
)

// openSignIn opens the node's sign-in state (HOME/portal: second factors, lockouts, sign-in
// log) once per process; the portal and the FHIR gateway's person login share it.
func openSignIn(home string) (*signin.Service, error) {
	return signin.Open(filepath.Join(home, "portal"), signin.Limits{})
}
