package tx

import (
	"encoding/json"
	"fmt"
)

// Some bodies (consent, emergency, claims) travel as one JSON document inside the canonical
// envelope: the envelope signature covers these exact bytes, and state values are
// re-encoded from the decoded structs.

// PutJSON writes v as a length-prefixed JSON document.
func PutJSON(w *Writer, v any) {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	w.PutBytes(j)
}

// ReadJSON parses a body written by PutJSON, refusing a document over max bytes or
// anything after it; field names the body in errors.
func ReadJSON[T any](raw []byte, field string, max int) (*T, error) {
	r := NewReader(raw)
	j := r.Bytes(field, max)
	if err := r.Done(); err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(j, &v); err != nil {
		return nil, fmt.Errorf("%s JSON: %w", field, err)
	}
	return &v, nil
}
