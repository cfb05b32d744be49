package bench

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Workload names.
const (
	Baseline = "baseline" // signed Noop transactions from pre-registered actors
	// BaselineWrite and BaselineRead are the same no-ops padded to the signed size of one
	// record write and of one read request: the engine carrying the same bytes, so that a
	// workload's ratio to them is the application's own share.
	BaselineWrite = "baseline-write"
	BaselineRead  = "baseline-read"
	Register      = "register" // patients registering themselves
	Write         = "write"    // encrypted ~1.5 KB FHIR Observations written by providers
	Read          = "read"     // audited reads of those records by granted providers, to plaintext
	// ReadNode is Read up to what the serving node does (verify, decide, record, release
	// the ciphertext and the key share), without the requester's decryption, which in a
	// deployment runs on the requester's machine.
	ReadNode = "read-node"
	// GrantRevoke is patients granting a provider read access and revoking it again, each
	// revocation rotating the category key.
	GrantRevoke = "grant-revoke"
	Mixed       = "mixed"  // a hospital day: mostly reads, some writes, a few grants and revocations
	Claims      = "claims" // two-line insurance claims adjudicated at commit
	// Supply is EPCIS 2.0 capture: documents of EventsPerDoc events commissioning,
	// packing, shipping and receiving drug packs (supply.go), and BaselineCapture the no-op
	// padded to such a document's signed size.
	Supply          = "supply"
	BaselineCapture = "baseline-capture"
)

// Workloads lists every workload Run knows, in the order they are best run.
var Workloads = []string{Baseline, BaselineWrite, BaselineRead, Register, Write, Read, ReadNode, GrantRevoke, Mixed, Claims, BaselineCapture, Supply}

// sameSize names the padded baseline each workload is compared with.
var sameSize = map[string]string{Write: BaselineWrite, Read: BaselineRead, ReadNode: BaselineRead, Supply: BaselineCapture}

// workload is a set of signed transactions ready to submit. Each stream holds the
// transactions of one signer, which must reach the mempool in order (their sequences
// increase by one); different streams are independent.
type workload struct {
	name    string
	streams [][][]byte
	kinds   []string                    // the kind of each stream's transactions when a workload mixes kinds (nil: all are name)
	setup   [][][][]byte                // phases (run in turn) of streams (run in parallel, each in order), committed before timing
	reads   []*records.ReadRequest      // signed read requests, timed from request to plaintext
	readers []*keys.Keystore            // who signs the reads
	txs     int                         // transactions and reads measured
	events  int                         // EPCIS events a transaction captures (0: not a capture workload)
	check   func(identity.Reader) error // run on the committed state after the timed phase
	bytes   int                         // of the transactions
	shares  sync.Map                    // reader|patient|category|version -> opened category key
	// noDisk leaves the disk unmeasured, and the state's memtable unflushed, after the
	// timed phase: growth measures the disk at its points, not after each batch.
	noDisk bool
}

// prepare builds and signs every transaction of the named workload, so that client-side key
// generation, encryption and signing stay out of the timed phase.
func (r *runner) prepare(name string) (*workload, error) {
	chainID, txs, actors := r.n.ChainID(), r.o.Txs, r.o.Actors
	switch name {
	case Baseline:
		return prepareBaseline(Baseline, chainID, txs, actors, 0)
	case BaselineWrite, BaselineRead, BaselineCapture:
		size, err := sampleSize(name, chainID)
		if err != nil {
			return nil, err
		}
		return prepareBaseline(name, chainID, txs, actors, size)
	case Register:
		return prepareRegister(chainID, txs)
	case Write, Read, ReadNode:
		regSeq := app.NextSequence(r.n.View(), r.reg.ID)
		return prepareRecords(name, chainID, r.reg, regSeq, txs, actors)
	case GrantRevoke:
		return prepareGrantRevoke(chainID, r.reg, app.NextSequence(r.n.View(), r.reg.ID), txs, actors)
	case Mixed:
		return prepareMixed(chainID, r.reg, app.NextSequence(r.n.View(), r.reg.ID), txs, actors)
	case Claims:
		return prepareClaims(chainID, r.reg, app.NextSequence(r.n.View(), r.reg.ID), txs, actors)
	case Supply:
		return prepareSupply(chainID, r.reg, app.NextSequence(r.n.View(), r.reg.ID), txs, actors)
	}
	return nil, fmt.Errorf("unknown workload %q (known: %v)", name, Workloads)
}

// prepareBaseline registers actors patients (the setup transactions, sequence 0) and
// spreads txs Noop transactions across them, each actor with its own increasing sequence;
// with size > 0 each is padded to size bytes signed.
func prepareBaseline(name, chainID string, txs, actors, size int) (*workload, error) {
	if actors < 1 {
		return nil, fmt.Errorf("baseline needs at least one actor")
	}
	actors = min(actors, max(txs, 1))
	ks, err := keystores("actor", actors)
	if err != nil {
		return nil, err
	}
	w := &workload{name: name, streams: make([][][]byte, actors), setup: [][][][]byte{make([][][]byte, actors)}, txs: txs}
	per := make([]int, actors)
	for i := range txs {
		per[i%actors]++
	}
	err = parallel(actors, func(a int) error {
		k := ks[a]
		signer, ok := tx.ParseSigner(k.ID)
		if !ok {
			return fmt.Errorf("keystore %s has a malformed id %q", k.Name, k.ID)
		}
		reg := client.RegistrationFor(chainID, k, identity.Patient, k.Name, "", "")
		w.setup[0][a] = [][]byte{tx.Sign(k.Keys.Sign, signer, chainID, 0, reg).Encode()}
		s := make([][]byte, per[a])
		for i := range s {
			s[i] = paddedNoop(k, signer, chainID, uint64(i+1), size)
		}
		w.streams[a] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.count()
	return w, nil
}

// paddedNoop is a signed no-op of size bytes (or unpadded, for size 0 or a size smaller
// than an empty one). The payload's length prefix grows with it, so it is fitted, not computed.
func paddedNoop(k *keys.Keystore, signer [20]byte, chainID string, seq uint64, size int) []byte {
	raw := tx.Sign(k.Keys.Sign, signer, chainID, seq, &app.Noop{}).Encode()
	if size <= len(raw) {
		return raw
	}
	pad := size - len(raw)
	for {
		raw = tx.Sign(k.Keys.Sign, signer, chainID, seq, &app.Noop{Payload: make([]byte, pad)}).Encode()
		if len(raw) <= size || pad == 0 {
			return raw
		}
		pad -= len(raw) - size
	}
}

// sampleSize is the signed size of one operation of the workload a padded baseline stands
// for: a record write as the write workload makes it, or an encoded read request.
func sampleSize(baseline, chainID string) (int, error) {
	ks, err := keystores("sample", 2)
	if err != nil {
		return 0, err
	}
	kp, err := keys.Generate()
	if err != nil {
		return 0, err
	}
	if baseline == BaselineCapture {
		sample, err := captureSample(chainID)
		if err != nil {
			return 0, err
		}
		total := 0
		for _, raw := range sample {
			total += len(raw)
		}
		return total / len(sample), nil
	}
	if baseline == BaselineRead {
		q := &records.ReadRequest{ChainID: chainID, Requester: ks[0].ID, Patient: ks[1].ID, Record: "r-000000000000000000000000",
			Purpose: "treatment", NotAfter: 1 << 40}
		q.Sign(ks[0].Keys.Sign)
		return len(q.Encode()), nil
	}
	body, err := EncryptedObservation(ks[0], ks[1].ID, kp.EncPublic())
	if err != nil {
		return 0, err
	}
	signer, _ := tx.ParseSigner(ks[0].ID)
	return len(tx.Sign(ks[0].Keys.Sign, signer, chainID, 1, body.Wire()).Encode()), nil
}

// prepareRegister builds txs self-registrations of new patients: each is signed by the key
// it registers, with sequence 0, so every transaction is its own stream.
func prepareRegister(chainID string, txs int) (*workload, error) {
	w := &workload{name: Register, streams: make([][][]byte, txs), txs: txs}
	err := parallel(txs, func(i int) error {
		name := fmt.Sprintf("patient-%d", i)
		k, err := keys.NewKeystore(name)
		if err != nil {
			return err
		}
		signer, ok := tx.ParseSigner(k.ID)
		if !ok {
			return fmt.Errorf("keystore %s has a malformed id %q", k.Name, k.ID)
		}
		reg := client.RegistrationFor(chainID, k, identity.Patient, name, "", "")
		w.streams[i] = [][]byte{tx.Sign(k.Keys.Sign, signer, chainID, 0, reg).Encode()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.count()
	return w, nil
}

func (w *workload) count() {
	for _, s := range w.streams {
		for _, raw := range s {
			w.bytes += len(raw)
		}
	}
}

// queued is one transaction of a submitter's queue.
type queued struct {
	raw  []byte
	kind string
}

// queues deals the streams to c workers and interleaves each worker's streams round-robin,
// keeping every stream's order. It never makes more queues than streams.
func (w *workload) queues(c int) [][]queued {
	c = max(1, min(c, len(w.streams)))
	if len(w.streams) == 0 {
		return nil
	}
	out := make([][]queued, c)
	for q := range out {
		var mine []int
		for s := q; s < len(w.streams); s += c {
			mine = append(mine, s)
		}
		for k := 0; ; k++ {
			added := false
			for _, s := range mine {
				if k < len(w.streams[s]) {
					out[q] = append(out[q], queued{raw: w.streams[s][k], kind: w.kindOf(s)})
					added = true
				}
			}
			if !added {
				break
			}
		}
	}
	return out
}

func (w *workload) kindOf(stream int) string {
	if w.kinds == nil {
		return w.name
	}
	return w.kinds[stream]
}

func keystores(prefix string, n int) ([]*keys.Keystore, error) {
	out := make([]*keys.Keystore, n)
	err := parallel(n, func(i int) error {
		k, err := keys.NewKeystore(fmt.Sprintf("%s-%d", prefix, i))
		out[i] = k
		return err
	})
	return out, err
}

// parallel runs fn(0..n-1) on every CPU and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}
