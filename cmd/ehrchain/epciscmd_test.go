package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `ehrchain epcis hash FILE` prints the reference generator's output: one hash a line.
func TestEpcisHashCommandPrintsOneHashALine(t *testing.T) {
	dir := "../../../shared/data/epcis-2.0/event-hash"
	f := filepath.Join(dir, "epcisDocWithVariousEventTypes.jsonld")
	want, err := os.ReadFile(strings.TrimSuffix(f, ".jsonld") + ".hashes")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root := rootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"epcis", "hash", f})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
