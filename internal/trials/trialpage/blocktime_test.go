package trialpage_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/trials/trialpage"
	"github.com/ehrchain/ehrchain/internal/trials/trialstest"
)

// TestReportHTMLBlockTime: the page says the block time was proven, against which block
// hash, only when it was; otherwise it says the time is the node's.
func TestReportHTMLBlockTime(t *testing.T) {
	r := trialstest.SampleReport()
	var proven, plain bytes.Buffer
	hash := strings.Repeat("CD", 32)
	if err := trialpage.WriteHTMLPage(&proven, trialpage.HTMLPage{Report: r, AppHash: strings.Repeat("AB", 32), Values: 9, BlockHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := trialpage.WriteHTML(&plain, r, strings.Repeat("AB", 32), 9); err != nil {
		t.Fatal(err)
	}
	if p := proven.String(); !strings.Contains(p, "Block time proven") || !strings.Contains(p, hash) || !strings.Contains(p, `<svg id="timeline"`) {
		t.Fatalf("proven page:\n%.3000s", p)
	}
	if p := plain.String(); strings.Contains(p, "Block time proven") || !strings.Contains(p, "The block time is the node") {
		t.Fatalf("plain page:\n%.3000s", p)
	}
}
