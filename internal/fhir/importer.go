package fhir

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// Importer loads FHIR Bundles (one patient each, as Synthea writes them) onto the ledger
// as one provider: each patient gets an identity (a keystore created here, or the one a
// previous run created), and each resource becomes one record encrypted for the patient
// and authored by the provider. Runs are resumable: record ids derive from the source
// resources, and what the ledger already holds is skipped.
type Importer struct {
	Client     *client.Client
	Provider   *keys.Keystore
	Keys       keys.Dir       // patient keystores: "fhir-<source patient id>"
	Passphrase []byte         // protects the patient keystores it creates or opens
	KDF        keys.KDFParams // cost of the patient keystores it creates
	Workers    int            // encryption workers (default: GOMAXPROCS)
	Progress   func(done, total int)
	// Journal is the file that remembers what was submitted, so a second run skips it
	// (see journal.go). Empty: no memory between runs.
	Journal string
	// Policy puts each resource in its consent category (default: Sensitivity).
	Policy *Policy
}

// ImportStats summarises a run.
type ImportStats struct {
	Bundles, Failed       int
	Patients, NewPatients int
	Resources, Imported   int
	Skipped               int // already on the ledger
	Elapsed               time.Duration
	Setup                 time.Duration // parsing, keystores, registrations, key publication
	Errors                []string
	// Categories counts the records imported by this run per consent category.
	Categories map[string]int
	// PatientIDs maps each source Patient id to its identity id.
	PatientIDs map[string]string
}

// bundleJob is one bundle on its way in.
type bundleJob struct {
	file     string
	entries  []*Entry
	patient  *Entry
	ksName   string
	id       string
	ks       *keys.Keystore
	created  bool
	catKeys  map[string]consent.CategoryKey // the key records of each category are sealed for
	register bool                           // not on the ledger yet
	publish  []string                       // categories whose keys are not on the ledger yet
}

// Files expands FILE|DIR arguments into the JSON files to import, sorted.
func Files(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return out, nil
}

// Import loads files. A bundle that fails validation is reported and skipped; the others
// go on. The returned error is for failures that stop the whole run.
func (im *Importer) Import(ctx context.Context, files []string) (*ImportStats, error) {
	start := time.Now()
	st := &ImportStats{Bundles: len(files), PatientIDs: map[string]string{}, Categories: map[string]int{}}
	workers := im.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jr, err := openJournal(ctx, im.Client, im.Journal)
	if err != nil {
		return st, err
	}
	defer jr.close()
	jobs := im.parse(files, workers, st)
	if err := im.identities(ctx, jobs, workers, st); err != nil {
		return st, err
	}
	if err := im.writeRecords(ctx, jobs, workers, st, jr, start); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// parse reads and validates every bundle in parallel; failures are recorded in st.
func (im *Importer) parse(files []string, workers int, st *ImportStats) []*bundleJob {
	out := make([]*bundleJob, len(files))
	errs := make([]error, len(files))
	parallel(len(files), workers, func(i int) {
		j, err := parseBundle(files[i], im.policy())
		out[i], errs[i] = j, err
	})
	var jobs []*bundleJob
	seen := map[string]string{}
	for i, j := range out {
		if errs[i] == nil {
			if prev, dup := seen[j.ksName]; dup {
				errs[i] = fmt.Errorf("the same patient is also in %s; import one bundle per patient", prev)
			}
		}
		if errs[i] != nil {
			st.Failed++
			st.Errors = append(st.Errors, fmt.Sprintf("%s: %v", filepath.Base(files[i]), errs[i]))
			continue
		}
		seen[j.ksName] = j.file
		st.Resources += len(j.entries)
		jobs = append(jobs, j)
	}
	st.Patients = len(jobs)
	return jobs
}

func (im *Importer) policy() *Policy {
	if im.Policy != nil {
		return im.Policy
	}
	return Sensitivity
}

func parseBundle(file string, pol *Policy) (*bundleJob, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, err := Validate(raw)
	if err != nil {
		return nil, err
	}
	es, err := BundleEntries(b)
	if err != nil {
		return nil, err
	}
	p, err := PatientEntry(es)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		e.Category = pol.Classify(e.Resource).Category
	}
	return &bundleJob{file: file, entries: es, patient: p, ksName: PatientKeystoreName(p.SourceID)}, nil
}

// PatientKeystoreName names the keystore of an imported patient after the source id.
func PatientKeystoreName(source string) string {
	name := "fhir-" + source
	if !keys.ValidName(name) {
		name = "fhir-" + ImportID("", "Patient", source)
	}
	return name
}

// identities creates or finds each patient's keystore, and finds what the ledger lacks:
// the registration (the provider registering a patient is the care relationship that lets
// it write) and the category keys: every default category and every category the bundle's
// records fall in, so the patient can read all of them and grant each. The key records are
// sealed for is the one on the ledger, or the one the keystore holds and enroll is about to
// publish, so sealing can start before the patients are enrolled.
func (im *Importer) identities(ctx context.Context, jobs []*bundleJob, workers int, st *ImportStats) error {
	c := im.Client
	var mu sync.Mutex
	var firstErr error
	parallel(len(jobs), workers, func(i int) {
		if err := im.keystore(jobs[i]); err != nil {
			mu.Lock()
			firstErr = cmpErr(firstErr, err)
			mu.Unlock()
		}
	})
	if firstErr != nil {
		return firstErr
	}
	for _, j := range jobs {
		st.PatientIDs[j.patient.SourceID] = j.id
		if j.created {
			st.NewPatients++
		}
		_, err := c.Identity(ctx, j.id, false)
		var ce *client.Error
		switch {
		case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
			j.register = true
		case err != nil:
			return err
		}
		cks, err := c.CategoryKeys(ctx, j.id)
		if err != nil {
			return err
		}
		j.catKeys = map[string]consent.CategoryKey{}
		for _, k := range cks {
			j.catKeys[k.Category] = k
		}
		for _, cat := range j.categories() {
			if _, ok := j.catKeys[cat]; ok {
				continue
			}
			if err := im.open(j); err != nil {
				return err
			}
			ck, ok := j.ks.LatestCategoryKey(cat)
			if !ok {
				return fmt.Errorf("keystore %s has no %s key; publish the patient's keys with the record CLI", j.ksName, cat)
			}
			j.catKeys[cat] = consent.CategoryKey{Category: cat, Version: ck.Version, EncKey: ck.Priv.PublicKey().Bytes()}
			j.publish = append(j.publish, cat)
		}
	}
	return nil
}

// categories are the default categories and any other the bundle's records fall in.
func (j *bundleJob) categories() []string {
	cats := slices.Clone(consent.DefaultCategories)
	for _, e := range j.entries {
		if !slices.Contains(cats, e.Category) {
			cats = append(cats, e.Category)
		}
	}
	return cats
}

// enroll registers the new patients as the provider, then has each publish its category
// keys, pipelined across patients with one wait per step.
func (im *Importer) enroll(ctx context.Context, jobs []*bundleJob) error {
	c := im.Client
	chainID, err := c.ChainIDOf(ctx)
	if err != nil {
		return err
	}
	var regs []tx.Body
	for _, j := range jobs {
		if j.register {
			if err := im.open(j); err != nil {
				return err
			}
			regs = append(regs, client.RegistrationFor(chainID, j.ks, identity.Patient, "patient "+j.id[:8], "", ""))
		}
	}
	if len(regs) > 0 {
		prov, err := newSequencer(ctx, c, im.Provider)
		if err != nil {
			return err
		}
		if _, err := prov.submitMany(ctx, regs); err != nil {
			return fmt.Errorf("register patients: %w", err)
		}
		if err := prov.wait(ctx); err != nil {
			return err
		}
	}
	var pubs []*sequencer
	for _, j := range jobs {
		if len(j.publish) == 0 {
			continue
		}
		body := &consent.PublishKeysBody{}
		for _, cat := range j.publish {
			body.Keys = append(body.Keys, j.catKeys[cat])
		}
		s, err := newSequencer(ctx, c, j.ks)
		if err != nil {
			return err
		}
		if err := s.submit(ctx, body); err != nil {
			return fmt.Errorf("publish the keys of %s: %w", j.ksName, err)
		}
		pubs = append(pubs, s)
	}
	for _, s := range pubs {
		if err := s.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// keystore finds the patient's keystore (its public id needs no passphrase) or creates one
// with a fresh identity and category keys in memory; save writes it to disk, which enroll
// waits for before anything about the patient goes on the ledger.
func (im *Importer) keystore(j *bundleJob) error {
	if data, err := im.Keys.Load(j.ksName); err == nil {
		info, err := keys.PublicInfo(data)
		if err != nil {
			return fmt.Errorf("keystore %s: %w", j.ksName, err)
		}
		j.id = info.ID
		return nil
	}
	ks, err := keys.NewKeystore(j.ksName)
	if err != nil {
		return err
	}
	for _, cat := range consent.DefaultCategories {
		kp, err := keys.Generate()
		if err != nil {
			return err
		}
		ks.AddCategoryKey(cat, 1, kp.Enc)
	}
	j.id, j.ks, j.created = ks.ID, ks, true
	return nil
}

// save encrypts the keystores created by this run (argon2id, the costly part of a new
// patient) and writes them.
func (im *Importer) save(jobs []*bundleJob, workers int) error {
	var mu sync.Mutex
	var firstErr error
	parallel(len(jobs), workers, func(i int) {
		j := jobs[i]
		if !j.created {
			return
		}
		data, err := keys.Encrypt(j.ks, im.Passphrase, im.KDF)
		if err == nil {
			err = im.Keys.Save(j.ksName, data)
		}
		if err != nil {
			mu.Lock()
			firstErr = cmpErr(firstErr, fmt.Errorf("keystore %s: %w", j.ksName, err))
			mu.Unlock()
		}
	})
	return firstErr
}

// open decrypts a patient keystore found on disk, when a step needs its private keys.
func (im *Importer) open(j *bundleJob) error {
	if j.ks != nil {
		return nil
	}
	data, err := im.Keys.Load(j.ksName)
	if err != nil {
		return err
	}
	ks, err := keys.Decrypt(data, im.Passphrase)
	if err != nil {
		return fmt.Errorf("keystore %s: %w", j.ksName, err)
	}
	j.ks = ks
	return nil
}

type pending struct {
	job   *bundleJob
	entry *Entry
}

type sealed struct {
	body *records.PutBody
	ct   []byte
	err  error
}

// writeRecords encrypts every new resource in parallel and submits them in sequence order
// without waiting for blocks; it waits once, for the last.
func (im *Importer) writeRecords(ctx context.Context, jobs []*bundleJob, workers int, st *ImportStats, jr *journal, start time.Time) error {
	c := im.Client
	me, err := c.Identity(ctx, im.Provider.ID, false)
	if err != nil {
		return err
	}
	var todo []pending
	for _, j := range jobs {
		for _, e := range j.entries {
			if e.Type == "Patient" {
				e.ID = j.id
			} else {
				e.ID = ImportID(j.id, e.Type, e.SourceID)
			}
		}
		refs := RefMap(j.entries)
		for _, e := range j.entries {
			if jr.done[e.ID] {
				st.Skipped++
				continue
			}
			ResolveReferences(e.Resource, refs)
			todo = append(todo, pending{j, e})
		}
	}
	items := make([]writeItem, len(todo))
	for i, p := range todo {
		pt, err := Stored(p.entry.Resource, p.entry.ID)
		if err != nil {
			return err
		}
		items[i] = writeItem{ck: p.job.catKeys[p.entry.Category], rec: client.NewRecord{ID: p.entry.ID, Version: 1, Patient: p.job.id,
			Category: p.entry.Category, ResourceType: p.entry.Type, ContentType: ContentType, Plaintext: pt}}
	}
	saved := make(chan error, 1)
	go func() { saved <- im.save(jobs, workers) }()
	enroll := func() error {
		if err := <-saved; err != nil {
			return err
		}
		err := im.enroll(ctx, jobs)
		st.Setup = time.Since(start)
		return err
	}
	var sent []string
	err = pipelineWrite(ctx, c, im.Provider, me.Identity.KeyVersion, items, workers, enroll, func(i int, hash string) error {
		sent = append(sent, hash)
		if im.Progress != nil {
			im.Progress(i+1, len(todo))
		}
		return jr.submitted(todo[i].entry.ID, hash)
	})
	if err != nil {
		return im.explain(ctx, err, sent)
	}
	if err := jr.checkpoint(); err != nil {
		return err
	}
	st.Imported = len(todo)
	for _, p := range todo {
		st.Categories[p.entry.Category]++
	}
	return nil
}

// explain finds why a write failed when the first symptom was a later transaction's
// sequence: the earliest submitted transaction the ledger rejected says why.
func (im *Importer) explain(ctx context.Context, err error, sent []string) error {
	var ce *client.Error
	for _, h := range sent[:min(len(sent), 64)] {
		res, lerr := im.Client.Tx(ctx, h)
		if lerr != nil || res.Code == 0 {
			continue
		}
		e := tx.Error{Codespace: res.Codespace, Code: res.Code, Message: res.Log}
		ce = &client.Error{Status: api.HTTPStatus(&e), TxError: wire.TxError{Error: e, Hash: h, Height: res.Height}}
		err = fmt.Errorf("transaction %s was rejected in block %d: %w", h, res.Height, ce)
		break
	}
	if errors.As(err, &ce) && ce.Codespace == string(records.Space) && ce.Code == records.CodeVersion {
		return fmt.Errorf("%w (a record of this import is already on the ledger but not in the journal %q: was it imported from another machine or with another --journal?)", err, im.Journal)
	}
	return err
}

// writeItem is one record to seal and write.
type writeItem struct {
	rec client.NewRecord
	ck  consent.CategoryKey // the patient's current key of the record's category
}

// pipelineWrite seals items in parallel and submits them in order as author, without
// waiting for blocks; it waits once, for the last, and calls after for each submission.
// before, if given, runs while the first items are sealed and must succeed before any is
// submitted.
func pipelineWrite(ctx context.Context, c *client.Client, author *keys.Keystore, keyVersion uint32, items []writeItem, workers int,
	before func() error, after func(i int, hash string) error) error {
	results := make([]chan sealed, len(items))
	for i := range results {
		results[i] = make(chan sealed, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go parallel(len(items), workers, func(i int) {
		if ctx.Err() != nil {
			results[i] <- sealed{err: ctx.Err()}
			return
		}
		body, ct, err := client.SealFor(author, keyVersion, items[i].ck, items[i].rec)
		results[i] <- sealed{body, ct, err}
	})
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	seq, err := newSequencer(ctx, c, author)
	if err != nil {
		return err
	}
	// Submit in order, as many sealed items per request as are ready (at most batchMax).
	const batchMax = 256
	for i := 0; i < len(items); {
		batch := []sealed{<-results[i]}
	more:
		for len(batch) < batchMax && i+len(batch) < len(items) {
			select {
			case r := <-results[i+len(batch)]:
				batch = append(batch, r)
			default:
				break more
			}
		}
		bodies := make([]tx.Body, len(batch))
		for k, r := range batch {
			it := items[i+k].rec
			if r.err != nil {
				return fmt.Errorf("%s %s: %w", it.ResourceType, it.ID, r.err)
			}
			if r.body.Meta.Blob {
				if err := c.PutBlob(ctx, author, r.ct); err != nil {
					return err
				}
			}
			bodies[k] = r.body
		}
		hashes, err := seq.submitMany(ctx, bodies)
		for k, h := range hashes { // admitted, even if a later one in the batch was not
			if after != nil {
				if err := after(i+k, h); err != nil {
					return err
				}
			}
		}
		if err != nil {
			it := items[i+len(hashes)].rec
			return fmt.Errorf("%s %s: %w", it.ResourceType, it.ID, err)
		}
		i += len(batch)
	}
	return seq.wait(ctx)
}

// parallel runs fn(0..n-1) on workers goroutines, in index order of start.
func parallel(n, workers int, fn func(i int)) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Summary is a one-paragraph report of a run.
func (s *ImportStats) Summary() string {
	var b strings.Builder
	secs := s.Elapsed.Seconds()
	fmt.Fprintf(&b, "%d bundles (%d failed): %d patients (%d new), %d resources: %d imported, %d already on the ledger, in %.2fs (setup %.2fs)",
		s.Bundles, s.Failed, s.Patients, s.NewPatients, s.Resources, s.Imported, s.Skipped, secs, s.Setup.Seconds())
	if secs > 0 && s.Imported > 0 {
		fmt.Fprintf(&b, " (%.0f resources/s, %.1f patients/s)", float64(s.Imported)/secs, float64(s.Patients)/secs)
	}
	if len(s.Categories) > 0 {
		b.WriteString("\n  imported by category:")
		cats := slices.SortedFunc(maps.Keys(s.Categories), func(a, b string) int {
			return cmp.Or(Rank(a)-Rank(b), strings.Compare(a, b))
		})
		for _, c := range cats {
			fmt.Fprintf(&b, " %s %d", c, s.Categories[c])
		}
	}
	for _, e := range s.Errors {
		b.WriteString("\n  " + e)
	}
	return b.String()
}
