package auditreport

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats are the forms every report is written in.
var Formats = []string{"json", "csv", "html", "fhir"}

// Report is an accounting of disclosures or a compliance report, ready to be written.
type Report interface {
	WriteJSON(io.Writer) error
	WriteCSV(io.Writer) error
	WriteHTML(io.Writer) error
	WriteFHIR(io.Writer) error
}

// Write writes r in format, one of Formats.
func Write(w io.Writer, r Report, format string) error {
	switch format {
	case "json":
		return r.WriteJSON(w)
	case "csv":
		return r.WriteCSV(w)
	case "html":
		return r.WriteHTML(w)
	case "fhir":
		return r.WriteFHIR(w)
	}
	return fmt.Errorf("format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// ValidFormat reports whether format is one of Formats.
func ValidFormat(format string) bool { return slices.Contains(Formats, format) }
