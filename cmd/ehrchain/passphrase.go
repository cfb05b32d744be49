package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passphraseEnv names the environment variable that may hold the passphrase.
const passphraseEnv = "EHRCHAIN_PASSPHRASE"

// passphrase reads the keystore passphrase from --passphrase-file, the environment, or a
// prompt on the terminal (twice when confirm is set).
func (g *globals) passphrase(what string, confirm bool) ([]byte, error) {
	if g.passphraseFile != "" {
		b, err := os.ReadFile(g.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", g.passphraseFile)
		}
		return b, nil
	}
	if v := os.Getenv(passphraseEnv); v != "" {
		return []byte(v), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no passphrase: give --passphrase-file, set " + passphraseEnv + ", or run in a terminal")
	}
	fmt.Fprintf(os.Stderr, "Passphrase for %s: ", what)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		fmt.Fprintf(os.Stderr, "Repeat passphrase: ")
		q, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, q) {
			return nil, errors.New("passphrases do not match")
		}
	}
	return p, nil
}
