package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSupplySkipped: without GS1's schema beside the data the chapter is skipped, saying
// how to enable it, and the node's config is left as it was.
func TestSupplySkipped(t *testing.T) {
	data := filepath.Join(t.TempDir(), "synthea-r4")
	if Schema(data) != "" {
		t.Fatal("a schema found where there is none")
	}
	home := t.TempDir()
	if err := EnableEPCIS(home, data); err != nil {
		t.Fatalf("enabling EPCIS without a schema touched the config: %v", err)
	}
	var out bytes.Buffer
	if err := playSupply(context.Background(), &Env{Out: &out}, nil, nil, data, "", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "drug traceability: skipped") {
		t.Fatalf("the chapter did not say it was skipped: %q", out.String())
	}
}
