package api

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/validators"
)

// TestStatusComesFromTheDomain: each domain classifies its own codes; the API only turns
// the class into a status.
func TestStatusComesFromTheDomain(t *testing.T) {
	for _, c := range []struct {
		space tx.Codespace
		code  uint32
		want  int
	}{
		{tx.Space, tx.CodeBadSignature, http.StatusUnauthorized},
		{tx.Space, tx.CodeBadSequence, http.StatusConflict},
		{tx.Space, tx.CodeMalformed, http.StatusBadRequest},
		{identity.Space, identity.CodeNotEntitled, http.StatusForbidden},
		{identity.Space, identity.CodeUnsigned, http.StatusUnauthorized},
		{identity.Space, identity.CodeNotFound, http.StatusNotFound},
		{consent.Space, consent.CodeRevoked, http.StatusConflict},
		{records.Space, records.CodeUnauthorized, http.StatusForbidden},
		{records.Space, records.CodeErased, http.StatusGone},
		{erasure.Space, erasure.CodeHeld, http.StatusConflict},
		{validators.Space, validators.CodeLastOne, http.StatusConflict},
		{claims.Space, claims.CodeNoConsent, http.StatusForbidden},
		{emergency.Space, emergency.CodeWindow, http.StatusForbidden},
		{blobs.Space, blobs.CodeQuota, http.StatusTooManyRequests},
		{blobs.Space, blobs.CodeTooLarge, http.StatusRequestEntityTooLarge},
		{audit.Space, audit.CodeReplayed, http.StatusConflict},
		{admission.Space, admission.CodeOverBytes, http.StatusTooManyRequests},
		{admission.Space, admission.CodeClosed, http.StatusForbidden},
		{Space, CodeTimeout, http.StatusGatewayTimeout},
		{Space, CodeInternal, http.StatusInternalServerError},
		{"no-such-domain", 1, http.StatusUnprocessableEntity},
	} {
		if got := httpStatus(c.space.Err(c.code, "x")); got != c.want {
			t.Errorf("%s/%d: HTTP %d, want %d", c.space, c.code, got, c.want)
		}
	}
}

var updateStatuses = flag.Bool("update-statuses", false, "rewrite testdata/statuses.txt from the classification as it is")

// codeRange is each codespace's codes as of the table's writing (codes are append-only, so
// these stay; a code added later is not in the table until it is rewritten).
var codeRange = []struct {
	space tx.Codespace
	last  uint32
}{
	{tx.Space, 11}, {Space, 7}, {identity.Space, 14}, {consent.Space, 9}, {records.Space, 8},
	{erasure.Space, 7}, {validators.Space, 6}, {claims.Space, 11}, {emergency.Space, 8},
	{blobs.Space, 8}, {audit.Space, 5}, {admission.Space, 3}, {supply.Space, 8}, {trials.Space, 15},
}

// TestEveryCodeKeepsItsStatus: the HTTP status of every code of every codespace is the one
// in testdata/statuses.txt. Clients act on these statuses, so moving the classification
// (from one switch in the API into each domain) must not change one of them.
func TestEveryCodeKeepsItsStatus(t *testing.T) {
	path := filepath.Join("testdata", "statuses.txt")
	if *updateStatuses {
		var b strings.Builder
		b.WriteString("# codespace code HTTP-status, for every code (rewrite: go test -run TestEveryCodeKeepsItsStatus -update-statuses)\n")
		for _, r := range codeRange {
			for c := uint32(1); c <= r.last; c++ {
				fmt.Fprintf(&b, "%s %d %d\n", r.space, c, httpStatus(r.space.Err(c, "x")))
			}
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		var space string
		var code uint32
		var want int
		if _, err := fmt.Sscanf(line, "%s %d %d", &space, &code, &want); err != nil {
			t.Fatalf("%s:%d: %q: %v", path, i+1, line, err)
		}
		if got := httpStatus(tx.Codespace(space).Err(code, "x")); got != want {
			t.Errorf("%s/%d: HTTP %d, want %d", space, code, got, want)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("%s holds %d codes: the table is not the whole set", path, n)
	}
}
