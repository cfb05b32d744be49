package records

import (
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// readMemo remembers, within one read batch, the requesters and the facts their decisions
// start from, so that a clinician's many reads of one patient's chart look them up once.
// Executing a read changes neither identities, nor grants, nor emergency declarations (it
// adds an event and the request's outcome), so every request of the batch finds what the
// first one found. It is only ever looked up, never iterated, so it cannot bring map order
// into a block.
type readMemo struct {
	ids   map[string]*identity.Identity // nil: not registered
	known map[factsKey]access.Facts
}

type factsKey struct{ requester, patient, purpose string }

func newReadMemo() *readMemo {
	return &readMemo{ids: map[string]*identity.Identity{}, known: map[factsKey]access.Facts{}}
}

func (m *readMemo) identity(st Store, id string) *identity.Identity {
	who, ok := m.ids[id]
	if !ok {
		who = identity.Get(st, id)
		m.ids[id] = who
	}
	return who
}

// facts is AccessFacts for the request, without the record. The slices it holds are shared
// between requests; access.Decide only reads them.
func (m *readMemo) facts(st Store, who *identity.Identity, q *ReadRequest, at time.Time, em EmergencyFacts) access.Facts {
	k := factsKey{who.ID, q.Patient, q.Purpose}
	f, ok := m.known[k]
	if !ok {
		f = AccessFacts(st, who, q.Patient, q.Purpose, at, em)
		m.known[k] = f
	}
	return f
}
