package operator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is where, under the node's home, the operator token lives.
const TokenFile = "operator.token"

// TokenPath is the token file of a home directory.
func TokenPath(home string) string { return filepath.Join(home, TokenFile) }

// EnsureToken returns the home's operator token, creating it (32 random bytes, hex, mode
// 0600) on first use. A node calls it at start.
func EnsureToken(home string) (string, error) {
	t, err := LoadToken(home)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t = hex.EncodeToString(b[:])
	f, err := os.OpenFile(TokenPath(home), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadToken(home) // another process made it first
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return t, f.Close()
}

// LoadToken reads the home's operator token; a client command (verify, backup) calls it to
// talk to the running node of that home.
func LoadToken(home string) (string, error) {
	b, err := os.ReadFile(TokenPath(home))
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if len(t) != 64 {
		return "", fmt.Errorf("%s is damaged: expected 64 hex characters, delete it and restart the node", TokenPath(home))
	}
	return t, nil
}
