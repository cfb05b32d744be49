// Package audittest builds audit logs in memory for the tests of audit and auditindex:
// random events in blocks of increasing time, and a LogView over them that counts reads.
package audittest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// MemLog is an in-memory committed log (an audit.LogView): the first Size leaves of a
// shared slice. Reads counts leaf reads, to check how much of the log a query touched.
type MemLog struct {
	Leaves  [][]byte
	Decoded []*audit.Event // the leaves decoded once, for brute-force comparisons
	Size    uint64
	Reads   *atomic.Int64
}

// LogSize is the number of committed events.
func (m MemLog) LogSize() uint64 { return m.Size }

// Leaf is event i's encoded leaf, counted in Reads.
func (m MemLog) Leaf(i uint64) ([]byte, error) {
	if i >= m.Size {
		return nil, fmt.Errorf("leaf %d of %d", i, m.Size)
	}
	if m.Reads != nil {
		m.Reads.Add(1)
	}
	return m.Leaves[i], nil
}

// Prefix is the same log as committed at n events.
func (m MemLog) Prefix(n uint64) MemLog { m.Size = n; return m }

// T0 is the time of the first generated block.
var T0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// GenEvents makes n events in blocks of 1-4 events sharing a block time that increases by
// 1-3 seconds, drawing each field from small pools so filters hit and miss.
func GenEvents(rng *rand.Rand, n int) []*audit.Event {
	pick := func(pool ...string) string { return pool[rng.IntN(len(pool))] }
	var out []*audit.Event
	at, height := T0, int64(1)
	for len(out) < n {
		for k := 1 + rng.IntN(4); k > 0 && len(out) < n; k-- {
			e := &audit.Event{Height: height, Time: at, Action: pick(audit.KnownActions...), Outcome: pick(audit.Success, audit.Success, audit.Denied),
				Actor: pick("a1", "a2", "a3", "p1"), ActorRole: "provider", Organization: pick("", "org1", "org2")}
			if strings.HasPrefix(e.Action, "identity.") {
				e.Subject = pick("p1", "p2", "a1")
			} else {
				e.Patient = pick("p1", "p2", "p3")
			}
			if rng.IntN(50) == 0 {
				e.Actor = "rare"
			}
			out = append(out, e)
		}
		at = at.Add(time.Duration(1+rng.IntN(3)) * time.Second)
		height++
	}
	return out
}

// LogOf commits evs, in order, to a new MemLog.
func LogOf(evs []*audit.Event) MemLog {
	m := MemLog{Reads: &atomic.Int64{}}
	for _, e := range evs {
		c := *e
		m.Leaves = append(m.Leaves, c.Encode())
		d, err := audit.Decode(m.Leaves[len(m.Leaves)-1])
		if err != nil {
			panic(err)
		}
		m.Decoded = append(m.Decoded, d)
	}
	m.Size = uint64(len(m.Leaves))
	return m
}
