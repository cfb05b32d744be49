package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// observation is a ~1.5 KB FHIR R4 Observation, the size the goals are stated for.
var observation = func() []byte {
	base := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}],"text":"Blood pressure panel"},"subject":{"reference":"Patient/example"},"effectiveDateTime":"2021-03-01T10:00:00Z","issued":"2021-03-01T10:00:00.000Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic Blood Pressure"}]},"valueQuantity":{"value":82,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic Blood Pressure"}]},"valueQuantity":{"value":128,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}],"note":[{"text":"`
	pad := 1500 - len(base) - len(`"}]}`)
	return []byte(base + strings.Repeat("x", max(0, pad)) + `"}]}`)
}()

// recordCast is the providers and patients of the record workloads: patient i was
// registered by provider i (a care relationship, so provider i writes for it) and grants
// provider i+1 read access (so reads go through a real consent decision and key share).
type recordCast struct {
	providers, patients []*keys.Keystore
	catKeys             []*keys.KeyPair
}

func prepareRecords(name, chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	p := max(1, min(actors, txs))
	c := recordCast{}
	var err error
	if c.providers, err = keystores(name+"-dr", p); err != nil {
		return nil, err
	}
	if c.patients, err = keystores(name+"-pt", p); err != nil {
		return nil, err
	}
	c.catKeys = make([]*keys.KeyPair, p)
	if err := parallel(p, func(i int) (err error) {
		c.catKeys[i], err = keys.Generate()
		c.patients[i].AddCategoryKey("general", 1, c.catKeys[i].Enc)
		return err
	}); err != nil {
		return nil, err
	}
	sign := func(k *keys.Keystore, seq uint64, b tx.Body) []byte {
		s, _ := tx.ParseSigner(k.ID)
		return tx.Sign(k.Keys.Sign, s, chainID, seq, b).Encode()
	}
	w := &workload{name: name}
	regStream := make([][]byte, p)
	regPatients, publish, grants := make([][][]byte, p), make([][][]byte, p), make([][][]byte, p)
	for i := range p {
		prov, pat := c.providers[i], c.patients[i]
		regStream[i] = sign(reg, regSeq+uint64(i), client.RegistrationFor(chainID, prov, identity.Provider, prov.Name, "Bench Hospital", "MD-"+prov.Name))
		regPatients[i] = [][]byte{sign(prov, 0, client.RegistrationFor(chainID, pat, identity.Patient, pat.Name, "", ""))}
		publish[i] = [][]byte{sign(pat, 0, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: c.catKeys[i].Enc.PublicKey().Bytes()}}})}
		grantee := c.providers[(i+1)%p]
		share, err := client.MakeShare(pat, "general", 1, &identity.Identity{ID: grantee.ID, EncKey: grantee.Keys.EncPublic()})
		if err != nil {
			return nil, err
		}
		grants[i] = [][]byte{sign(pat, 1, &consent.GrantBody{Grant: consent.Grant{Patient: pat.ID, Grantee: grantee.ID,
			Scope: consent.Scope{Categories: []string{"general"}}, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment},
			KeyShares: []consent.KeyShare{share}}})}
	}
	w.setup = [][][][]byte{{regStream}, regPatients, publish}

	// Writes: provider i writes for patient i, sequences from 1.
	nwrites := txs
	if name == Read {
		w.setup = append(w.setup, grants)
		nwrites = min(txs, 20*p) // the records the reads then ask for
	}
	per := make([]int, p)
	for i := range nwrites {
		per[i%p]++
	}
	streams := make([][][]byte, p)
	ids := make([][]string, p)
	err = parallel(p, func(i int) error {
		streams[i] = make([][]byte, per[i])
		ids[i] = make([]string, per[i])
		for k := range per[i] {
			body, err := EncryptedObservation(c.providers[i], c.patients[i].ID, c.catKeys[i].EncPublic())
			if err != nil {
				return err
			}
			ids[i][k] = body.Meta.RecordID
			streams[i][k] = sign(c.providers[i], uint64(k+1), body)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if name == Write {
		w.streams, w.txs = streams, txs
		w.count()
		return w, nil
	}
	w.setup = append(w.setup, streams)
	// Reads: provider i+1 reads patient i's records, round-robin; signed in setupReads,
	// just before timing, so that they are fresh (a request is valid for minutes).
	w.txs = txs
	w.reads = make([]*records.ReadRequest, txs)
	for k := range txs {
		i := k % p
		list := ids[i]
		w.reads[k] = &records.ReadRequest{ChainID: chainID, Requester: c.providers[(i+1)%p].ID, Patient: c.patients[i].ID,
			Record: list[(k/p)%len(list)], Purpose: consent.Treatment}
	}
	w.readers = c.providers
	return w, nil
}

// EncryptedObservation seals the observation for patient under its category key and the
// author, as client.PutRecord does.
func EncryptedObservation(author *keys.Keystore, patient string, catPub []byte) (*records.PutBody, error) {
	var b [12]byte
	rand.Read(b[:])
	m := records.Meta{RecordID: "r-" + hex.EncodeToString(b[:]), Version: 1, Patient: patient, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", CategoryVersion: 1, AuthorKeyVersion: 1}
	aad := envelope.AAD(m.RecordID, m.Version, m.Patient, m.Category)
	dk, ct, err := envelope.Seal(observation, aad)
	if err != nil {
		return nil, err
	}
	m.Digest, m.Size = sha256.Sum256(ct), uint64(len(ct))
	if m.PatientWrap, err = envelope.WrapKey(catPub, dk, aad); err != nil {
		return nil, err
	}
	if m.AuthorWrap, err = envelope.WrapKey(author.Keys.EncPublic(), dk, aad); err != nil {
		return nil, err
	}
	return &records.PutBody{Meta: m, Ciphertext: ct}, nil
}

// setupReads signs the read requests (untimed), valid for the next nine minutes.
func (r *runner) setupReads(_ context.Context, w *workload) error {
	keyOf := map[string]*keys.Keystore{}
	for _, k := range w.readers {
		keyOf[k.ID] = k
	}
	notAfter := time.Now().Add(9 * time.Minute).Unix()
	return parallel(len(w.reads), func(i int) error {
		q := w.reads[i]
		q.NotAfter = notAfter
		rand.Read(q.Nonce[:])
		q.Sign(keyOf[q.Requester].Keys.Sign)
		return nil
	})
}

// measureReads runs the audited read path as a serving node does for each request: verify,
// batch, decide and record at commit, then release the ciphertext, the wrapped key and the
// requester's key share. Window requests are in flight at once (reads wait for a block).
// Decryption is the client's work and is measured by the envelope micro-benchmarks.
func (r *runner) measureReads(parent context.Context, w *workload) (*measured, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	t := &tally{blockAt: map[int64]time.Time{}, blockTxs: map[int64]int{}, lat: make([]time.Duration, 0, len(w.reads))}
	next := make(chan *records.ReadRequest, len(w.reads))
	for _, q := range w.reads {
		next <- q
	}
	close(next)
	debug.FreeOSMemory()
	rssReset := resetPeakRSS()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	inflight := min(r.o.Window, len(w.reads))
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			defer func() { t.mu.Lock(); t.lat = append(t.lat, lat...); t.mu.Unlock() }()
			for q := range next {
				sent := time.Now()
				out, err := r.n.Read(ctx, q)
				if err != nil {
					t.reject(err.Error())
					continue
				}
				if !out.Allowed {
					t.reject("denied: " + out.Reason)
					continue
				}
				v := r.n.View()
				m := records.Version(v, q.Record, out.Version)
				ct := records.Ciphertext(v, m.Digest)
				share := consent.ShareFor(consent.List(v, m.Patient), q.Requester, m.Category, m.CategoryVersion)
				if ct == nil || share == nil {
					t.reject("released nothing to decrypt")
					continue
				}
				t.mu.Lock()
				t.blockTxs[out.Height]++
				t.mu.Unlock()
				lat = append(lat, time.Since(sent))
				t.committed.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastTick := int64(0), start
loop:
	for {
		select {
		case <-done:
			break loop
		case err := <-r.n.Fatal():
			cancel()
			<-done
			return nil, err
		case now := <-tick.C:
			c := t.committed.Load()
			fmt.Fprintf(r.progress, "%s: %5.1fs  released %d/%d  rejected %d  %.0f reads/s\n", w.name, now.Sub(start).Seconds(),
				c, len(w.reads), t.rejected.Load(), float64(c-last)/now.Sub(lastTick).Seconds())
			last, lastTick = c, now
		}
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	res := t.result(w.name, len(w.reads), inflight, wall, cpu)
	res.MeanTxBytes = len(w.reads[0].Encode())
	return &measured{Result: res, rssReset: rssReset}, nil
}
