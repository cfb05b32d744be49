package app

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestPatientNameNeverReachesTheLedger: a registration that carries a patient's name is
// refused with a code, and after a patient registers (named only in the local keystore)
// and the node closes, no file of the node's home holds the name.
func TestPatientNameNeverReachesTheLedger(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast()
	const name = "zebulon-quartermaine"

	self := newKS(t, name)
	named := registration(self, identity.Patient, "", "")
	named.Name = name
	res := h.block(h.sign(self, named))
	if res[0].Code != identity.CodePatientName || res[0].Codespace != string(identity.Space) {
		t.Fatalf("a named patient registration: code %d %q (%s), want identity/%d", res[0].Code, res[0].Codespace, res[0].Log, identity.CodePatientName)
	}

	pat := newKS(t, name)
	h.mustOK(h.sign(c.provider, registration(pat, identity.Patient, "", "")))
	if got := h.identity(pat.ID); got == nil || got.Name != "" {
		t.Fatalf("registered patient: %+v, want registered with no name", got)
	}
	h.st.Close()
	found := ""
	filepath.WalkDir(h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(name)) {
			found = p
		}
		return nil
	})
	if found != "" {
		t.Fatalf("the patient's name is in %s", found)
	}
}
