package api

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

func (s *Server) routeRecords() {
	s.mux.HandleFunc("GET /v1/patients/{id}/keys", s.patientKeys)
	s.mux.HandleFunc("GET /v1/patients/{id}/grants", s.patientGrants)
	s.mux.HandleFunc("PUT /v1/blobs/{digest}", s.putBlob)
	s.mux.HandleFunc("POST /v1/read", s.read)
	s.mux.HandleFunc("GET /v1/records/{id}", s.recordLocation)
}

func (s *Server) patientKeys(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	id := r.PathValue("id")
	out := wire.CategoryKeys{Height: v.Height(), Keys: []consent.CategoryKey{}}
	for _, c := range consent.Categories(v, id) {
		out.Keys = append(out.Keys, *consent.CurrentKey(v, id, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// patientGrants answers the patient's grants to those entitled to them (consent.Visible):
// they say which providers may read the patient's records, for what and until when.
func (s *Server) patientGrants(w http.ResponseWriter, r *http.Request) {
	v := s.b.View()
	who, terr := s.requester(r, v)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	patient := r.PathValue("id")
	gs, ok := consent.Visible(who, patient, consent.List(v, patient))
	if !ok {
		writeErr(w, notEntitled(who, "patient %s's grants: sign the query as the patient, a grantee or an auditor", patient))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"height": v.Height(), "grants": gs})
}

// putBlob stores an upload signed by an active identity that may write records, charged to
// it until a committed record references the blob (see internal/blobs). Authentication
// comes before the body is read, so an unsigned request cannot make the node read 256 MiB.
func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) {
	d, err := hex.DecodeString(r.PathValue("digest"))
	if err != nil || len(d) != 32 {
		writeErr(w, Space.Err(CodeBadRequest, "blob digest must be 64 hex characters (SHA-256 of the ciphertext)"))
		return
	}
	size := r.ContentLength
	if size < 0 {
		writeErr(w, Space.Err(CodeBadRequest, "a blob upload needs a Content-Length (the size it is signed for)"))
		return
	}
	v := s.b.View()
	id, terr := blobs.CheckUpload(s.b.ChainID(), [32]byte(d), size, r.Header, time.Now(), func(id string) ed25519.PublicKey {
		if who := identity.Get(v, id); who != nil {
			return who.SignKey
		}
		return nil
	})
	if terr != nil {
		writeErr(w, terr)
		return
	}
	who := identity.Get(v, id)
	switch {
	case !who.Active:
		writeErr(w, blobs.Space.Err(blobs.CodeNotAuthor, "identity %s is deactivated", id))
		return
	case !records.MayAuthor(who.Role):
		writeErr(w, blobs.Space.Err(blobs.CodeNotAuthor, "identity %s is a %s; only providers and patients write records, so only they upload blobs", id, who.Role))
		return
	case size > records.MaxBlob:
		writeErr(w, blobs.Space.Err(blobs.CodeTooLarge, "blob of %d bytes is over the %d-byte limit", size, records.MaxBlob))
		return
	}
	st := s.b.Blobs()
	res, err := st.Reserve(id, size)
	if err != nil {
		writeErr(w, blobs.Space.Err(blobs.CodeQuota, "%v", err))
		return
	}
	defer res.Release()
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, size))
	if err != nil || int64(len(data)) != size {
		writeErr(w, blobs.Space.Err(blobs.CodeDigest, "body is not the %d signed bytes: %v", size, err))
		return
	}
	err = res.Upload([32]byte(d), data, time.Now())
	switch {
	case errors.Is(err, blobs.ErrDigest):
		writeErr(w, blobs.Space.Err(blobs.CodeDigest, "body does not hash to %x", d))
		return
	case err != nil:
		writeErr(w, Space.Err(CodeInternal, "store blob: %v", err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"digest": hex.EncodeToString(d), "size": len(data)})
}

// decodeSigned reads a JSON body {"request": base64} holding a signed request and decodes
// it with dec. Checking the signature is the caller's business.
func decodeSigned[T any](w http.ResponseWriter, r *http.Request, what string, dec func([]byte) (T, error)) (T, *tx.Error) {
	var zero T
	var body wire.ReadRequestBody
	if err := decodeJSON(w, r, &body); err != nil {
		return zero, err
	}
	raw, err := base64.StdEncoding.DecodeString(body.Request)
	if err != nil {
		return zero, Space.Err(CodeBadRequest, "request must be standard base64")
	}
	q, err := dec(raw)
	if err != nil {
		return zero, tx.Space.Err(tx.CodeMalformed, "malformed %s: %v", what, err)
	}
	return q, nil
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	q, terr := decodeSigned(w, r, "read request", records.DecodeReadRequest)
	if terr != nil {
		writeErr(w, terr)
		return
	}
	out, err := s.b.Read(r.Context(), q)
	var te *tx.Error
	switch {
	case errors.As(err, &te):
		writeErr(w, te)
		return
	case err != nil:
		writeErr(w, Space.Err(CodeUnavailable, "the access could not be recorded, so nothing is released: %v", err))
		return
	}
	resp := wire.ReadResponse{Outcome: *out}
	if out.Rule == string(access.Erased) {
		e := records.Space.Err(records.CodeErased, "recorded as event %d at height %d: %s", out.Event, out.Height, out.Reason)
		writeJSON(w, http.StatusGone, struct {
			tx.Error
			Outcome records.Outcome `json:"outcome"`
		}{*e, *out})
		return
	}
	if !out.Allowed {
		e := consent.Space.Err(consent.CodeDenied, "recorded as event %d at height %d: %s", out.Event, out.Height, out.Reason)
		writeJSON(w, http.StatusForbidden, struct {
			tx.Error
			Outcome records.Outcome `json:"outcome"`
		}{*e, *out})
		return
	}
	v := s.b.View()
	if q.Record == "" {
		s.list(v, q, out.Time, &resp)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	// The head version's metadata and ciphertext come from one index entry.
	m, ct := records.VersionAndCiphertext(v, q.Record, out.Version)
	if m == nil {
		// Allowed at its block, erased by a later one: nothing is released.
		writeErr(w, records.Space.Err(records.CodeErased, "record %s was erased after this read was recorded (event %d)", q.Record, out.Event))
		return
	}
	resp.Record = m
	resp.History = records.History(v, q.Record)
	if m.Blob {
		b, err := s.b.Blobs().Get(m.Digest)
		if errors.Is(err, blobs.ErrNotFound) {
			writeErr(w, Space.Err(CodeUnavailable, "record %s version %d is stored as a blob this node does not hold yet", m.RecordID, m.Version))
			return
		}
		if err != nil {
			writeErr(w, Space.Err(CodeInternal, "blob %x: %v", m.Digest, err))
			return
		}
		resp.Ciphertext = b
	} else {
		resp.Ciphertext = ct
	}
	if q.Requester != m.Patient && q.Requester != m.Author {
		resp.Share = consent.ShareFor(consent.List(v, m.Patient), q.Requester, m.Category, m.CategoryVersion)
	}
	writeJSON(w, http.StatusOK, resp)
}

// list fills in the metadata of the records the requester may read for the purpose, each
// judged by access.Decide at the block time of the recorded list access.
func (s *Server) list(v records.IndexIterator, q *records.ReadRequest, at time.Time, resp *wire.ReadResponse) {
	f := records.AccessFacts(v, identity.Get(v, q.Requester), q.Patient, q.Purpose, at, emergency.Facts)
	for _, id := range records.PatientRecords(v, q.Patient) {
		if m := records.Version(v, id, records.Head(v, id)); m != nil && records.Readable(f, m, q.Purpose) {
			resp.Records = append(resp.Records, m)
		}
	}
}
