package nodetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MainWithBinary is a TestMain for tests that run nodes as separate processes: it builds the
// ehrchain command from the package directory cmd (relative to the test's package) once,
// stores its path in *binary, runs the tests and removes the build.
func MainWithBinary(m *testing.M, cmd string, binary *string) {
	dir, err := os.MkdirTemp("", "ehrchain-bin")
	if err != nil {
		panic(err)
	}
	*binary = filepath.Join(dir, "ehrchain")
	out, err := exec.Command("go", "build", "-o", *binary, cmd).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
