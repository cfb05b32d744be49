package bench

import (
	"bytes"
	"context"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
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

// cast is the providers and patients of the record and consent workloads: patient i was
// registered by provider i (a care relationship, so provider i writes for it) and published
// version 1 of each of its categories' keys.
type cast struct {
	chainID             string
	providers, patients []*keys.Keystore
	catKeys             [][]*keys.KeyPair // per patient, per category (as categories), version 1
	categories          []string
	setup               [][][][]byte // registrations of providers, then patients, then key publications
}

// newCast makes p providers and p patients and the setup that registers them. The
// registrar signs from regSeq; each provider's next sequence is then 1, each patient's 1.
func newCast(name, chainID string, reg *keys.Keystore, regSeq uint64, p int, categories ...string) (*cast, error) {
	c := &cast{chainID: chainID, categories: categories}
	var err error
	if c.providers, err = keystores(name+"-dr", p); err != nil {
		return nil, err
	}
	if c.patients, err = keystores(name+"-pt", p); err != nil {
		return nil, err
	}
	c.catKeys = make([][]*keys.KeyPair, p)
	if err := parallel(p, func(i int) error {
		for _, cat := range categories {
			kp, err := keys.Generate()
			if err != nil {
				return err
			}
			c.catKeys[i] = append(c.catKeys[i], kp)
			c.patients[i].AddCategoryKey(cat, 1, kp.Enc)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	regStream := make([][]byte, p)
	regPatients, publish := make([][][]byte, p), make([][][]byte, p)
	for i := range p {
		prov, pat := c.providers[i], c.patients[i]
		regStream[i] = c.sign(reg, regSeq+uint64(i), client.RegistrationFor(chainID, prov, identity.Provider, prov.Name, "Bench Hospital", "MD-"+prov.Name))
		regPatients[i] = [][]byte{c.sign(prov, 0, client.RegistrationFor(chainID, pat, identity.Patient, pat.Name, "", ""))}
		pb := &consent.PublishKeysBody{}
		for k, cat := range categories {
			pb.Keys = append(pb.Keys, consent.CategoryKey{Category: cat, Version: 1, EncKey: c.catKeys[i][k].EncPublic()})
		}
		publish[i] = [][]byte{c.sign(pat, 0, pb)}
	}
	c.setup = [][][][]byte{{regStream}, regPatients, publish}
	return c, nil
}

func (c *cast) sign(k *keys.Keystore, seq uint64, b tx.Body) []byte {
	s, _ := tx.ParseSigner(k.ID)
	return tx.Sign(k.Keys.Sign, s, c.chainID, seq, b).Encode()
}

// grantee is the provider patient i grants access to: not its own, so that reads go
// through a real consent decision and key share.
func (c *cast) grantee(i int) *keys.Keystore { return c.providers[(i+1)%len(c.providers)] }

// readGrants has patient i grant its grantee read access to category cat, at sequence seq.
func (c *cast) readGrants(cat string, seq uint64) ([][][]byte, error) {
	out := make([][][]byte, len(c.patients))
	err := parallel(len(c.patients), func(i int) error {
		raw, _, err := c.grant(i, cat, 1, seq)
		out[i] = [][]byte{raw}
		return err
	})
	return out, err
}

// grant signs patient i's read grant of version v of category cat to its grantee, and
// returns it with the id the chain will give it.
func (c *cast) grant(i int, cat string, v uint32, seq uint64) ([]byte, string, error) {
	pat, to := c.patients[i], c.grantee(i)
	share, err := client.MakeShare(pat, cat, v, &identity.Identity{ID: to.ID, EncKey: to.Keys.EncPublic()})
	if err != nil {
		return nil, "", err
	}
	raw := c.sign(pat, seq, &consent.GrantBody{Grant: consent.Grant{Patient: pat.ID, Grantee: to.ID,
		Scope: consent.Scope{Categories: []string{cat}}, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment},
		KeyShares: []consent.KeyShare{share}}})
	h := tx.Hash(raw)
	return raw, consent.GrantID(hex.EncodeToString(h[:])), nil
}

// churn builds, for each patient i with counts[i] > 0, counts[i] transactions from sequence
// seq alternating a read grant of category cat to its grantee and the revocation of that
// grant, which rotates the category key to the next version as the contract demands.
func (c *cast) churn(cat string, counts []int, seq uint64) ([][][]byte, error) {
	out := make([][][]byte, len(c.patients))
	err := parallel(len(c.patients), func(i int) error {
		v, grantID := uint32(1), ""
		for k := range counts[i] {
			if k%2 == 0 {
				raw, id, err := c.grant(i, cat, v, seq+uint64(k))
				if err != nil {
					return err
				}
				out[i], grantID = append(out[i], raw), id
				continue
			}
			kp, err := keys.Generate()
			if err != nil {
				return err
			}
			v++
			c.patients[i].AddCategoryKey(cat, v, kp.Enc)
			out[i] = append(out[i], c.sign(c.patients[i], seq+uint64(k), &consent.RevokeBody{GrantID: grantID,
				Rotations: []consent.CategoryKey{{Category: cat, Version: v, EncKey: kp.EncPublic()}}}))
		}
		return nil
	})
	return out, err
}

// writes builds counts[i] encrypted Observations by provider i for patient i, from
// sequence first[i] (1 if first is nil), and returns them with their record ids.
func (c *cast) writes(counts []int, first []uint64) ([][][]byte, [][]string, error) {
	streams := make([][][]byte, len(c.providers))
	ids := make([][]string, len(c.providers))
	err := parallel(len(c.providers), func(i int) error {
		seq := uint64(1)
		if first != nil {
			seq = first[i]
		}
		for k := range counts[i] {
			body, err := EncryptedObservation(c.providers[i], c.patients[i].ID, c.catKeys[i][0].EncPublic())
			if err != nil {
				return err
			}
			ids[i] = append(ids[i], body.Meta.RecordID)
			streams[i] = append(streams[i], c.sign(c.providers[i], seq+uint64(k), body.Wire()))
		}
		return nil
	})
	return streams, ids, err
}

// reads asks n reads of the records in ids: patient i's records by patient i's grantee,
// round-robin over patients and over each patient's records.
func (c *cast) reads(ids [][]string, n int) []*records.ReadRequest {
	p := len(c.patients)
	out := make([]*records.ReadRequest, n)
	for k := range n {
		i := k % p
		list := ids[i]
		out[k] = &records.ReadRequest{ChainID: c.chainID, Requester: c.grantee(i).ID, Patient: c.patients[i].ID,
			Record: list[(k/p)%len(list)], Purpose: consent.Treatment}
	}
	return out
}

// spread divides n as evenly as possible into p counts.
func spread(n, p int) []int {
	per := make([]int, p)
	for i := range n {
		per[i%p]++
	}
	return per
}

func prepareRecords(name, chainID string, reg *keys.Keystore, regSeq uint64, txs, actors int) (*workload, error) {
	p := max(1, min(actors, txs))
	c, err := newCast(name, chainID, reg, regSeq, p, "general")
	if err != nil {
		return nil, err
	}
	w := &workload{name: name, setup: c.setup, txs: txs}
	if name == Write {
		if w.streams, _, err = c.writes(spread(txs, p), nil); err != nil {
			return nil, err
		}
		w.count()
		return w, nil
	}
	grants, err := c.readGrants("general", 1)
	if err != nil {
		return nil, err
	}
	streams, ids, err := c.writes(spread(min(txs, 20*p), p), nil) // the records the reads then ask for
	if err != nil {
		return nil, err
	}
	w.setup = append(w.setup, grants, streams)
	// Reads are signed in setupReads, just before timing, so that they are fresh (a
	// request is valid for minutes).
	w.reads, w.readers = c.reads(ids, txs), c.providers
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
	if m.AuthorWrap, err = envelope.WrapKeyToSelf(author.Keys.Enc, dk, aad); err != nil {
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

// readLoop runs the audited read path as a serving node does for each request (verify,
// batch, decide and record at commit, release the ciphertext, the wrapped key and the
// requester's key share), then decrypts as the requester's client does, so a read's latency
// runs from request to plaintext. Like a real client, it opens each key share once and
// keeps the category key for the next records of that patient. For ReadNode it stops
// once the node has released the ciphertext and the requester's key share.
func (r *runner) readLoop(ctx context.Context, t *tally, w *workload, next <-chan *records.ReadRequest, start time.Time) {
	var lat []time.Duration
	defer func() { t.record(map[string][]time.Duration{Read: lat}) }()
	for q := range next {
		if r.expired(start) {
			return
		}
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
		m, ct := records.VersionAndCiphertext(v, q.Record, out.Version)
		if m == nil || ct == nil {
			t.reject("released nothing to decrypt")
			continue
		}
		share := consent.ShareFor(consent.List(v, m.Patient), q.Requester, m.Category, m.CategoryVersion)
		if share == nil {
			t.reject("released no key share")
			continue
		}
		if w.name != ReadNode {
			pt, err := w.open(q.Requester, m, ct, share)
			if err != nil || !bytes.Equal(pt, observation) {
				t.reject(fmt.Sprintf("decrypting %s: %v", q.Record, err))
				continue
			}
		}
		t.mu.Lock()
		t.blockTxs[out.Height]++
		t.mu.Unlock()
		lat = append(lat, time.Since(sent))
		t.committed.Add(1)
	}
}

// open decrypts a released record as reader, opening the key share on first use.
func (w *workload) open(reader string, m *records.Meta, ct []byte, share *consent.KeyShare) ([]byte, error) {
	key := fmt.Sprintf("%s|%s|%s|%d", reader, m.Patient, m.Category, m.CategoryVersion)
	priv, ok := w.shares.Load(key)
	if !ok {
		i := slices.IndexFunc(w.readers, func(k *keys.Keystore) bool { return k.ID == reader })
		if i < 0 {
			return nil, fmt.Errorf("no keystore for reader %s", reader)
		}
		p, err := client.OpenShare(w.readers[i], m.Patient, share)
		if err != nil {
			return nil, err
		}
		priv, _ = w.shares.LoadOrStore(key, p)
	}
	return client.DecryptWithCategoryKey(priv.(hpke.PrivateKey), m, ct)
}
