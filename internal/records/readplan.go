package records

import (
	"runtime"
	"sync"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// readPlan is what ExecReadBatch learned of one request before deciding it.
type readPlan struct {
	who   *identity.Identity // nil: the request is void
	facts access.Facts
	hash  [32]byte
	seen  bool // recorded by an earlier batch
	rec   recordState
}

// recordState is what the record index holds of the record a request reads.
type recordState struct {
	meta *Meta
	head uint32 // 0: no such record
	tomb *Tombstone
}

// lookUpPart is the fewest requests worth a goroutine of their own.
const lookUpPart = 64

// lookUp fills in, for every request not void, its hash, whether it was recorded before and
// the state of the record it reads, in parallel over the processors. Each answer depends
// only on its request and the index, so the split does not change them.
func lookUp(qs []*ReadRequest, plans []readPlan, ix indexReads) {
	one := func(i int) {
		p := &plans[i]
		p.hash = qs[i].Hash()
		if p.who == nil {
			return
		}
		if p.seen = ix.GetIndex(requestKey(p.hash)) != nil; p.seen || qs[i].Record == "" {
			return
		}
		var live bool
		p.rec.meta, p.rec.head, live = latest(ix, qs[i].Record)
		if p.rec.head != 0 && !live { // a live head entry means no tombstone
			p.rec.tomb = Erased(ix, qs[i].Record)
		}
	}
	parts := min(runtime.GOMAXPROCS(0), len(qs)/lookUpPart)
	if parts <= 1 {
		for i := range qs {
			one(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*len(qs)/parts, (k+1)*len(qs)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				one(i)
			}
		}()
	}
	wg.Wait()
}

// indexReads is a Store seen through the index alone, for the parallel pass: the index may
// be read concurrently while nothing writes, the map may not.
type indexReads struct{ st Store }

func (x indexReads) GetIndex(key []byte) []byte { return x.st.GetIndex(key) }

// Get is not for the parallel pass; reaching it is a programming error.
func (x indexReads) Get([]byte) []byte {
	panic("records: a read batch's parallel pass reads the record index only")
}
