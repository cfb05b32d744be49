package fhir

import (
	"fmt"
	"strings"
)

// Issue is one OperationOutcome.issue: severity, an issue-type code, where, and why.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// Outcome is a FHIR OperationOutcome.
type Outcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// NewOutcome builds an OperationOutcome with one issue.
func NewOutcome(severity, code, expr, format string, args ...any) *Outcome {
	is := Issue{Severity: severity, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	return &Outcome{ResourceType: "OperationOutcome", Issue: []Issue{is}}
}

// ValidationError lists why a resource was refused; it converts to an OperationOutcome.
type ValidationError struct{ Issues []Issue }

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		if len(is.Expression) > 0 {
			b.WriteString(is.Expression[0] + ": ")
		}
		b.WriteString(is.Diagnostics)
	}
	return b.String()
}

// Outcome is the OperationOutcome of the refusal.
func (e *ValidationError) Outcome() *Outcome {
	return &Outcome{ResourceType: "OperationOutcome", Issue: e.Issues}
}
