package portal

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// maxUpload bounds an uploaded document (the API takes blobs up to 256 MiB; a portal form
// is for scans and letters).
const maxUpload = 16 << 20

// patientRow is a patient on a provider's list and what the provider may do.
type patientRow struct {
	ID, Name   string
	Read       string // what active grants allow reading: categories and purposes; "" none
	Until      string // latest expiry of those grants
	Registered bool   // the provider registered the patient (may write for them)
	Emergency  string // the provider's open emergency declaration: until when
}

// myPatients lists the patients who gave the provider (or its organization) an active read
// grant, and those the provider registered.
func (p *Portal) myPatients(r *http.Request, me *identity.Identity, ks *keys.Keystore) ([]patientRow, error) {
	ctx := r.Context()
	cl := p.cl.As(ks)
	pats, err := cl.Identities(ctx, string(identity.Patient))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	// Open declarations by this provider (the only ones it is answered): a patient under
	// break-glass is on the list too.
	emerg := map[string]time.Time{}
	if ds, err := cl.Declarations(ctx, true); err == nil {
		for _, d := range ds {
			if d.Provider == me.ID && d.Expiry.After(emerg[d.Patient]) {
				emerg[d.Patient] = d.Expiry
			}
		}
	}
	// A patient under this provider's break-glass may have given it no grant: the listing
	// leaves them out, their public identity is enough for the row.
	for _, id := range slices.Sorted(maps.Keys(emerg)) {
		if !slices.ContainsFunc(pats, func(pt *identity.Identity) bool { return pt.ID == id }) {
			if r, err := cl.Identity(ctx, id, false); err == nil {
				pats = append(pats, r.Identity)
			}
		}
	}
	var out []patientRow
	for _, pt := range pats {
		row := patientRow{ID: pt.ID, Name: pt.Name, Registered: pt.RegisteredBy == me.ID}
		if t, ok := emerg[pt.ID]; ok {
			row.Emergency = t.UTC().Format("2006-01-02 15:04 UTC")
		}
		grants, err := cl.Grants(ctx, pt.ID)
		if err != nil {
			return nil, err
		}
		var cats, purposes []string
		var until time.Time
		forever := false
		for _, g := range grants {
			if !g.Active(now) || !slices.Contains(g.Actions, consent.Read) ||
				!(g.Grantee == me.ID || (g.Grantee == "" && g.Organization != "" && g.Organization == me.Organization)) {
				continue
			}
			c := g.Scope.Categories
			if len(c) == 0 {
				c = []string{"all"}
			}
			for _, x := range c {
				if !slices.Contains(cats, x) {
					cats = append(cats, x)
				}
			}
			for _, x := range g.Purposes {
				if !slices.Contains(purposes, x) {
					purposes = append(purposes, x)
				}
			}
			if g.Expiry.IsZero() {
				forever = true
			} else if g.Expiry.After(until) {
				until = g.Expiry
			}
		}
		if len(cats) > 0 {
			row.Read = strings.Join(cats, ", ") + " for " + strings.Join(purposes, ", ")
			if forever {
				row.Until = "no expiry"
			} else {
				row.Until = until.UTC().Format("2006-01-02")
			}
		}
		if row.Read != "" || row.Registered || row.Emergency != "" {
			out = append(out, row)
		}
	}
	return out, nil
}

func (p *Portal) providerHome(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := p.myPatients(r, s.ident, s.ks)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load your patients: %s", errText(err))
		return
	}
	p.render(w, r, http.StatusOK, "provider", s, pageData{Title: "My patients", Data: rows})
}

type providerPatientView struct {
	Records    recordsView
	Categories []string
	Purposes   []string
	CanWrite   bool
	Emergency  providerEmergency
}

// purposeOf is the purpose the request asks for; without one, emergency treatment while
// the provider has an open declaration (emergencyOpen), treatment otherwise.
func purposeOf(r *http.Request, emergencyOpen bool) string {
	if pu := r.URL.Query().Get("purpose"); slices.Contains(consent.Purposes, pu) {
		return pu
	}
	if emergencyOpen {
		return consent.Emergency
	}
	return consent.Treatment
}

func (p *Portal) providerPatient(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderProviderPatient(w, r, s, http.StatusOK, "")
}

func (p *Portal) renderProviderPatient(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	pid := r.PathValue("patient")
	if !keys.ValidID(pid) {
		p.fail(w, r, s, http.StatusBadRequest, "%q is not an identity id.", pid)
		return
	}
	em, err := p.myDeclarations(r.Context(), s.ks, pid)
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot check for emergency declarations: %s", errText(err))
		return
	}
	rv, err := p.loadRecords(r.Context(), s.ks, pid, purposeOf(r, em.Active != nil))
	if err != nil {
		p.fail(w, r, s, http.StatusBadGateway, "Cannot load the records: %s", errText(err))
		return
	}
	rv.DownloadFor = Prefix + "provider/patients/" + pid + "/records/"
	v := providerPatientView{Records: rv, Purposes: consent.Purposes, Emergency: em}
	if cks, err := p.cl.CategoryKeys(r.Context(), pid); err == nil {
		for _, k := range cks {
			v.Categories = append(v.Categories, k.Category)
		}
	}
	v.CanWrite = len(v.Categories) > 0
	p.render(w, r, status, "provider-patient", s, pageData{Title: "Patient " + rv.PatientName, Error: msg, Data: v})
}

func (p *Portal) providerDownload(w http.ResponseWriter, r *http.Request, s *session) {
	p.download(w, r, s, r.PathValue("patient"), purposeOf(r, false))
}

// addNote writes a clinical note as a FHIR DocumentReference, encrypted for the patient like
// every record the CLI writes.
func (p *Portal) addNote(w http.ResponseWriter, r *http.Request, s *session) {
	pid := r.PathValue("patient")
	text := strings.TrimSpace(r.PostFormValue("note"))
	if text == "" {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The note is empty.")
		return
	}
	doc := map[string]any{
		"resourceType": "DocumentReference",
		"status":       "current",
		"type":         map[string]any{"coding": []map[string]string{{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}}, "text": "Progress note"},
		"subject":      map[string]string{"reference": "Patient/" + pid},
		"date":         time.Now().UTC().Format(time.RFC3339),
		"author":       []map[string]string{{"reference": "Practitioner/" + s.ident.ID, "display": s.ident.Name}},
		"description":  firstLine(text),
		"content":      []map[string]any{{"attachment": map[string]any{"contentType": "text/plain; charset=utf-8", "data": []byte(text)}}},
	}
	pt, _ := json.Marshal(doc)
	p.write(w, r, s, client.NewRecord{Patient: pid, Category: r.PostFormValue("category"), ResourceType: "DocumentReference",
		ContentType: "application/fhir+json", Plaintext: pt}, "Note saved")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len([]rune(s)) > 80 {
		s = string([]rune(s)[:80]) + "…"
	}
	return s
}

// upload writes an uploaded file: a FHIR JSON resource as itself, anything else as a Binary
// with its content type (what `ehrchain record put` does).
func (p *Portal) upload(w http.ResponseWriter, r *http.Request, s *session) {
	pid := r.PathValue("patient")
	f, hdr, err := r.FormFile("file")
	if err != nil {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "Choose a file to upload (at most 16 MiB).")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil || len(data) > maxUpload || len(data) == 0 {
		p.renderProviderPatient(w, r, s, http.StatusBadRequest, "The file is empty or larger than 16 MiB.")
		return
	}
	rec := client.NewRecord{Patient: pid, Category: r.PostFormValue("category"), Plaintext: data}
	var res struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(data, &res) == nil && res.ResourceType != "" {
		rec.ContentType, rec.ResourceType = "application/fhir+json", res.ResourceType
	} else {
		rec.ContentType, rec.ResourceType = hdr.Header.Get("Content-Type"), "Binary"
		if rec.ContentType == "" || len(rec.ContentType) > 128 {
			rec.ContentType = "application/octet-stream"
		}
	}
	p.write(w, r, s, rec, "Uploaded "+hdr.Filename)
}

func (p *Portal) write(w http.ResponseWriter, r *http.Request, s *session, rec client.NewRecord, done string) {
	if !keys.ValidID(rec.Patient) {
		p.fail(w, r, s, http.StatusBadRequest, "%q is not an identity id.", rec.Patient)
		return
	}
	if rec.Category == "" {
		rec.Category = "general"
	}
	// Under an open emergency declaration the write is an urgent write that names it (it
	// needs no write grant); otherwise an ordinary one.
	put := p.cl.PutRecord
	if em, err := p.myDeclarations(r.Context(), s.ks, rec.Patient); err == nil && em.Active != nil {
		put = p.cl.UrgentWrite
	}
	m, err := put(r.Context(), s.ks, rec)
	if err != nil {
		p.renderProviderPatient(w, r, s, http.StatusForbidden, "The ledger refused the record: "+errText(err))
		return
	}
	s.flash = done + " (" + m.RecordID + ", encrypted, committed at height " + itoa(m.Height) + ")."
	redirect(w, r, Prefix+"provider/patients/"+rec.Patient)
}
