package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/blobs"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// uploader sends raw PUT /v1/blobs requests, signed or not, to a real node.
type uploader struct {
	t       *testing.T
	base    string
	chainID string
}

// put uploads body under digest d with the headers sign sets (nil: unsigned) and returns the
// status and the coded error, if any.
func (u uploader) put(d [32]byte, body []byte, sign func(h http.Header)) (int, *tx.Error) {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodPut, u.base+"/v1/blobs/"+hex.EncodeToString(d[:]), bytes.NewReader(body))
	if err != nil {
		u.t.Fatal(err)
	}
	if sign != nil {
		sign(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	var e tx.Error
	json.NewDecoder(resp.Body).Decode(&e)
	if e.Codespace == "" {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &e
}

// as signs an upload of size bytes under d by ks at time at.
func (u uploader) as(ks *keys.Keystore, d [32]byte, size int, at time.Time) func(http.Header) {
	return func(h http.Header) { blobs.SignUpload(h, u.chainID, ks.ID, ks.Keys.Sign, d, int64(size), at) }
}

func randomBlob(n int) ([]byte, [32]byte) {
	b := make([]byte, n)
	rand.Read(b)
	return b, sha256.Sum256(b)
}

// TestBlobUploadAuth drives PUT /v1/blobs on a real node and tries every way past its
// checks: no signature, an unregistered key, a role that writes no records, headers
// replayed for other bytes, a stale time, bytes not hashing to the digest, an oversized
// upload and one past the identity's quota. Signed uploads by a provider and by a patient
// are accepted and their records read back.
func TestBlobUploadAuth(t *testing.T) {
	home, reg := nodetest.Init(t)
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BlobQuotaBytes = 1 << 20
	if err := cfg.Save(node.Paths{Home: home}.Config()); err != nil {
		t.Fatal(err)
	}
	r := nodetest.Start(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := r.Client
	cast := nodetest.RegisterCast(t, ctx, c, reg)
	chainID, _ := c.ChainIDOf(ctx)
	u := uploader{t: t, base: c.Base, chainID: chainID}
	st := r.Node.Blobs()

	data, d := randomBlob(100 << 10)
	other, dOther := randomBlob(100 << 10)
	stranger, err := keys.NewKeystore("stranger")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := keys.NewKeystore("gone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, reg, client.RegistrationFor(chainID, gone, identity.Provider, "Gone", "St Mary", "MD-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, reg, &identity.Deactivate{ID: gone.ID, Reason: "left the hospital"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name   string
		d      [32]byte
		body   []byte
		sign   func(http.Header)
		status int
		code   uint32
	}{
		{"unsigned", d, data, nil, http.StatusUnauthorized, blobs.CodeUnsigned},
		{"unregistered key", d, data, u.as(stranger, d, len(data), now), http.StatusUnauthorized, blobs.CodeUnknownSigner},
		{"auditor", d, data, u.as(cast.Auditor, d, len(data), now), http.StatusForbidden, blobs.CodeNotAuthor},
		{"deactivated provider", d, data, u.as(gone, d, len(data), now), http.StatusForbidden, blobs.CodeNotAuthor},
		{"registrar", d, data, u.as(reg, d, len(data), now), http.StatusForbidden, blobs.CodeNotAuthor},
		{"headers of another digest replayed for other bytes", dOther, other, u.as(cast.Provider, d, len(data), now), http.StatusUnauthorized, blobs.CodeBadSignature},
		{"signed for another size", d, data, u.as(cast.Provider, d, len(data)+1, now), http.StatusUnauthorized, blobs.CodeBadSignature},
		{"stale", d, data, u.as(cast.Provider, d, len(data), now.Add(-blobs.Skew-time.Minute)), http.StatusUnauthorized, blobs.CodeStale},
		{"future", d, data, u.as(cast.Provider, d, len(data), now.Add(blobs.Skew+time.Minute)), http.StatusUnauthorized, blobs.CodeStale},
		{"bytes not hashing to the digest", d, other, u.as(cast.Provider, d, len(other), now), http.StatusBadRequest, blobs.CodeDigest},
	} {
		status, e := u.put(c.d, c.body, c.sign)
		if status != c.status || e == nil || e.Codespace != string(blobs.Space) || e.Code != c.code {
			t.Errorf("%s: %d %v, want %d %s/%d", c.name, status, e, c.status, blobs.Space, c.code)
		} else if !strings.Contains(e.Message, " ") {
			t.Errorf("%s: terse message %q", c.name, e.Message)
		}
	}
	if st.Has(d) || st.Has(dOther) || st.Pending() != 0 {
		t.Fatalf("a refused upload left bytes on disk (pending %d)", st.Pending())
	}

	// Over records.MaxBlob: refused from the signed Content-Length, before any body is read.
	status, e := rawOversize(t, c.Base, u.as(cast.Provider, d, records.MaxBlob+1, time.Now()), d)
	if status != http.StatusRequestEntityTooLarge || e == nil || e.Code != blobs.CodeTooLarge {
		t.Fatalf("oversize upload: %d %v", status, e)
	}

	// Signed uploads through the client: a provider's record and a patient's own.
	plain := make([]byte, 200<<10)
	rand.Read(plain)
	m, err := c.PutRecord(ctx, cast.Provider, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: plain})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Blob {
		t.Fatal("a 200 KiB record was not stored as a blob")
	}
	own, err := c.PutRecord(ctx, cast.Patient, client.NewRecord{Patient: cast.Patient.ID, Category: "general",
		ResourceType: "Media", ContentType: "application/octet-stream", Plaintext: plain[:150<<10]})
	if err != nil {
		t.Fatalf("a patient's upload to their own chart: %v", err)
	}
	for rec, want := range map[*records.Meta][]byte{m: plain, own: plain[:150<<10]} {
		got, err := c.ReadRecord(ctx, cast.Patient, cast.Patient.ID, rec.RecordID, "treatment")
		if err != nil {
			t.Fatalf("read back %s: %v", rec.RecordID, err)
		}
		if !bytes.Equal(got.Plaintext, want) {
			t.Fatalf("read back %s: %d bytes differ from the %d written", rec.RecordID, len(got.Plaintext), len(want))
		}
	}
	// Once the node has seen the records commit, their uploads no longer count.
	waitFor(t, 10*time.Second, "the committed records to free their uploads", func() bool {
		return st.Owed(cast.Provider.ID) == 0 && st.Owed(cast.Patient.ID) == 0
	})

	// The quota (1 MiB here): 700 KiB unreferenced fits, another 700 KiB does not.
	orphan, dOrphan := randomBlob(700 << 10)
	if err := c.PutBlob(ctx, cast.Provider, orphan); err != nil {
		t.Fatal(err)
	}
	second, dSecond := randomBlob(700 << 10)
	status, e = u.put(dSecond, second, u.as(cast.Provider, dSecond, len(second), time.Now()))
	if status != http.StatusTooManyRequests || e == nil || e.Code != blobs.CodeQuota || !strings.Contains(e.Message, "quota") {
		t.Fatalf("upload past the quota: %d %v", status, e)
	}
	if st.Has(dSecond) {
		t.Fatal("an upload refused for the quota was stored")
	}
	if s, err := c.Status(ctx); err != nil || s.BlobsPending != 1 {
		t.Fatalf("status counts %d pending uploads (%v), want the orphan", s.BlobsPending, err)
	}

	// The sweep, with its clock an hour ahead: the orphan goes, the referenced blobs stay.
	deleted, err := st.Sweep(time.Now().Add(time.Hour))
	if err != nil || len(deleted) != 1 || deleted[0] != dOrphan {
		t.Fatalf("sweep deleted %x (%v), want only the orphan", deleted, err)
	}
	if st.Has(dOrphan) || !st.Has(m.Digest) || !st.Has(own.Digest) {
		t.Fatalf("after the sweep: orphan held %v, referenced held %v %v", st.Has(dOrphan), st.Has(m.Digest), st.Has(own.Digest))
	}
	if _, err := c.ReadRecord(ctx, cast.Patient, cast.Patient.ID, m.RecordID, "treatment"); err != nil {
		t.Fatalf("read after the sweep: %v", err)
	}
	if err := c.PutBlob(ctx, cast.Provider, second); err != nil {
		t.Fatalf("the sweep freed the quota, yet: %v", err)
	}

	// The node's own sweep loop, with a tiny grace: a new orphan disappears by itself.
	st.SetPolicy(blobs.Policy{Grace: 50 * time.Millisecond, Quota: 1 << 20})
	waitFor(t, 10*time.Second, "the node to sweep the orphans", func() bool {
		return !st.Has(dSecond) && st.Pending() == 0
	})
	if !st.Has(m.Digest) || !st.Has(own.Digest) {
		t.Fatal("the node's sweep deleted a referenced blob")
	}
}

// rawOversize sends upload headers declaring size records.MaxBlob+1 over a raw connection,
// without the body, and reads the answer: the node must refuse before reading.
func rawOversize(t *testing.T, base string, sign func(http.Header), d [32]byte) (int, *tx.Error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := http.Header{}
	sign(h)
	fmt.Fprintf(conn, "PUT /v1/blobs/%x HTTP/1.1\r\nHost: node\r\nContent-Length: %d\r\n", d, records.MaxBlob+1)
	h.Write(conn)
	fmt.Fprint(conn, "\r\n")
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e tx.Error
	if json.NewDecoder(resp.Body).Decode(&e) != nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &e
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
