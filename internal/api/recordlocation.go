package api

import (
	"net/http"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// recordLocation answers whose record an id is (GET /v1/records/{id}) to a signed query
// of its patient, its author, someone the patient granted access (a provider of another
// shard recognised here, say), the registrar or an auditor. It releases the pseudonymous metadata every
// node of the chain holds, never content or keys; the read itself stays an audited
// POST /v1/read. A FHIR gateway of another shard uses it to route GET Type/id.
func (s *Server) recordLocation(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	who, terr := s.signedRequester(r, v, "the location of record %s", id)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	if !records.ValidID(id) {
		writeErr(w, Space.Err(CodeBadRequest, "invalid record id %q", id))
		return
	}
	loc, ok := locate(v, id)
	if !ok {
		writeErr(w, Space.Err(CodeNotFound, "record %s does not exist on this chain", id))
		return
	}
	if !who.Active || !(who.ID == loc.Patient || who.ID == loc.author || identity.SeesAll(who) || grantsTo(v, loc.Patient, who)) {
		writeErr(w, notEntitled(who, "the location of record %s: sign as its patient, its author, someone the patient granted access, the registrar or an auditor", id))
		return
	}
	writeJSON(w, http.StatusOK, loc.RecordLocation)
}

// location is a record's answer and the author of its head, who is entitled to it.
type location struct {
	wire.RecordLocation
	author string
}

// locate is the head of a record, or the last version its tombstone names.
func locate(v View, id string) (location, bool) {
	if t := records.Erased(v, id); t != nil && len(t.Versions) > 0 {
		last := t.Versions[len(t.Versions)-1]
		return location{wire.RecordLocation{Record: id, Patient: t.Patient, ResourceType: last.ResourceType, Category: last.Category,
			Version: last.Version, Erased: true}, last.Author}, true
	}
	m := records.Version(v, id, records.Head(v, id))
	if m == nil {
		return location{}, false
	}
	return location{wire.RecordLocation{Record: id, Patient: m.Patient, ResourceType: m.ResourceType, ContentType: m.ContentType,
		Category: m.Category, Version: m.Version, Time: m.Time}, m.Author}, true
}
