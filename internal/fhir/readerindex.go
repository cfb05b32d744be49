package fhir

import (
	"bytes"
	"maps"
	"slices"
	"sync"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
)

// readerIndex narrows a request across patients (patient search, system and type
// _history) to the patients whose records the caller may be able to read, instead of every
// registered patient and each of their records. Besides the patient's own records, a
// record is readable (access.Decide, emergency aside, which these requests refuse) only
// by its author or through a grant naming the reader or a provider's organization; grants
// and writes each leave an event on the ledger's audit log (consent.grant, record.write,
// record.amend), which every node holds. The index follows that log, reading only the
// events appended since its last use. It is a superset: a grant revoked or expired since
// stays in it, and every record of the patients it names is still decided by the consent
// on this node's state. It holds identity ids only, in memory. If the log cannot be read
// from its start (a node that joined by state sync without the early events), the index
// gives up and every patient is considered, as without it.
type readerIndex struct {
	mu     sync.Mutex
	next   uint64                         // first log index not read yet
	broken bool                           // the log could not be read: consider every patient
	by     map[string]map[string]struct{} // reader id or "org:"+organization -> patients
}

// The actions the index reads, as they appear in an encoded event: the filter skips the
// decoding of every other event (reads, audit queries, ...), the bulk of the log.
var readerActions = [][]byte{
	[]byte(`"action":"` + audit.ConsentGrant + `"`),
	[]byte(`"action":"` + audit.RecordWrite + `"`),
	[]byte(`"action":"` + audit.RecordAmend + `"`),
}

// catchUp reads the events of v's log not read yet; false if the index is broken.
func (x *readerIndex) catchUp(v *state.View) bool {
	if x.broken {
		return false
	}
	if x.by == nil {
		x.by = map[string]map[string]struct{}{}
	}
	for n := v.LogSize(); x.next < n; x.next++ {
		leaf, err := v.Leaf(x.next)
		if err != nil {
			x.broken, x.by = true, nil
			return false
		}
		if !slices.ContainsFunc(readerActions, func(a []byte) bool { return bytes.Contains(leaf, a) }) {
			continue
		}
		ev, err := audit.Decode(leaf)
		if err != nil || ev.Outcome != audit.Success || ev.Patient == "" {
			continue
		}
		switch ev.Action {
		case audit.ConsentGrant:
			if ev.Subject != "" {
				x.add(ev.Subject, ev.Patient)
			}
			if ev.Organization != "" {
				x.add("org:"+ev.Organization, ev.Patient)
			}
		case audit.RecordWrite, audit.RecordAmend:
			x.add(ev.Actor, ev.Patient)
		}
	}
	return true
}

func (x *readerIndex) add(reader, patient string) {
	ps := x.by[reader]
	if ps == nil {
		ps = map[string]struct{}{}
		x.by[reader] = ps
	}
	ps[patient] = struct{}{}
}

// patients are the patients whose records who may be able to read at v, sorted; ok false
// if the index cannot tell (consider every patient).
func (x *readerIndex) patients(v *state.View, who *identity.Identity) (_ []string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.catchUp(v) {
		return nil, false
	}
	set := maps.Clone(x.by[who.ID])
	if who.Role == identity.Provider && who.Organization != "" {
		if set == nil {
			set = map[string]struct{}{}
		}
		maps.Copy(set, x.by["org:"+who.Organization])
	}
	return slices.Sorted(maps.Keys(set)), true
}

// readerPatients are the patients a cross-patient request of the caller looks at: the
// caller if a patient, else those of the reader index (every registered patient if the
// index cannot tell).
func (g *Gateway) readerPatients(v *state.View, s *session) []string {
	if s.who.Role == identity.Patient {
		return []string{s.who.ID}
	}
	if ps, ok := g.readers.patients(v, s.who); ok {
		return ps
	}
	return g.patientIdentities()
}
