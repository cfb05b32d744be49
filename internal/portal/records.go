package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// chart is a rendered chart with its spec (for the template).
type chart struct {
	ID, Title string
	SVG       template.HTML
	Summary   string
}

// recordsView is a patient's records as one reader may see them.
type recordsView struct {
	PatientID   string
	PatientName string
	Denied      string // the ledger refused the listing: why
	Groups      []encounterGroup
	Charts      []chart
	Count       int
	Unreadable  int
	Purpose     string
	DownloadFor string // URL prefix of record downloads
	// Packs are the packs the MedicationDispense records name, read from the same
	// decrypted records (no second read), for the patient's recall check.
	Packs []client.ChartPack
}

// names maps identity ids to display names.
func (p *Portal) names(ctx context.Context, ks *keys.Keystore) map[string]string {
	out := map[string]string{}
	if ids, err := p.cl.As(ks).Identities(ctx, ""); err == nil {
		for _, i := range ids {
			out[i.ID] = i.Name
		}
	}
	return out
}

// maxCharts bounds the charts on one page; the timeline still lists every value.
const maxCharts = 12

// readParallel bounds the reads in flight per page: they are batched into the same block.
const readParallel = 16

// loadRecords lists a patient's records and reads and decrypts each as who, for purpose.
// Every list and read is an audited access on the ledger. Plaintext lives only for the
// request: it is rendered and dropped, never cached.
func (p *Portal) loadRecords(ctx context.Context, who *keys.Keystore, patient, purpose string) (recordsView, error) {
	v := recordsView{PatientID: patient, Purpose: purpose}
	names := p.names(ctx, who)
	v.PatientName = names[patient]
	metas, err := p.cl.ListRecords(ctx, who, patient, purpose)
	if errors.Is(err, client.ErrDenied) {
		v.Denied = strings.TrimPrefix(err.Error(), client.ErrDenied.Error()+": ")
		return v, nil
	}
	if err != nil {
		return v, err
	}
	entries := make([]entry, len(metas))
	packs := make([][]client.ChartPack, len(metas))
	sem := make(chan struct{}, readParallel)
	var wg sync.WaitGroup
	for i, m := range metas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := p.readRecord(ctx, who, patient, m.RecordID, purpose)
			if err != nil {
				entries[i] = entry{Meta: m, Type: m.ResourceType, Title: m.ResourceType, Error: readError(err)}
				return
			}
			entries[i] = newEntry(r.Meta, r.Plaintext, names)
			if m.ResourceType == client.DispenseResourceType {
				ps, _ := client.DispensedPacks(r.Plaintext) // a malformed one names no pack
				for _, pk := range ps {
					packs[i] = append(packs[i], client.ChartPack{Record: m.RecordID, DispensedPack: pk})
				}
			}
		}()
	}
	wg.Wait()
	for _, ps := range packs {
		v.Packs = append(v.Packs, ps...)
	}
	for _, e := range entries {
		if e.Error != "" {
			v.Unreadable++
		}
	}
	v.Count = len(entries)
	v.Groups = groupByEncounter(entries)
	charts := observationCharts(entries)
	if len(charts) > maxCharts {
		charts = charts[:maxCharts] // vital signs and common labs rank first
	}
	for _, c := range charts {
		v.Charts = append(v.Charts, chart{ID: c.ID, Title: c.Title, SVG: lineChart(c), Summary: c.describe()})
	}
	return v, nil
}

func readError(err error) string {
	switch {
	case errors.Is(err, client.ErrDenied):
		return "access denied by the ledger"
	case errors.Is(err, client.ErrCannotDecrypt):
		return "no key you hold opens this record"
	case errors.Is(err, emergency.ErrReconstruct):
		return "not enough custodian institutions have released their key shares yet"
	case errors.Is(err, client.ErrNoEscrow):
		return "the patient has not escrowed the key this record is under"
	}
	return err.Error()
}

// download serves one decrypted record as a file. It is always an attachment with a fixed
// type, so an uploaded page or script is never rendered in the portal's origin.
func (p *Portal) download(w http.ResponseWriter, r *http.Request, s *session, patient, purpose string) {
	res, err := p.readRecord(r.Context(), s.ks, patient, r.PathValue("record"), purpose)
	if err != nil {
		p.fail(w, r, s, http.StatusForbidden, "Cannot open this record: %s", readError(err))
		return
	}
	ctype := res.Meta.ContentType
	if _, _, err := mime.ParseMediaType(ctype); err != nil || ctype == "" {
		ctype = "application/octet-stream"
	}
	ext := ".bin"
	if exts, _ := mime.ExtensionsByType(ctype); len(exts) > 0 {
		ext = exts[0]
	}
	if strings.Contains(ctype, "json") {
		ext = ".json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": res.Meta.RecordID + ext}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(res.Plaintext)
}

func errText(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s (%s/%d)", ce.Message, ce.Codespace, ce.Code)
	}
	return err.Error()
}
