package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/envelope"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// story holds the cast and the node of one scenario.
type story struct {
	t       *testing.T
	ctx     context.Context
	home    string
	node    *nodetest.Running
	c       *client.Client
	reg     *keys.Keystore
	a, b    *keys.Keystore // providers at two hospitals
	patient *keys.Keystore
	auditor *keys.Keystore
}

func newStory(t *testing.T) *story {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	home, reg := nodetest.Init(t)
	n := nodetest.Start(t, home)
	s := &story{t: t, ctx: ctx, home: home, node: n, c: n.Client, reg: reg}
	s.a, s.b, s.patient, s.auditor = s.ks("dr-a"), s.ks("dr-b"), s.ks("pat"), s.ks("aud")
	chainID, err := s.c.ChainIDOf(ctx)
	s.must(err)
	s.send(reg, client.RegistrationFor(chainID, s.a, identity.Provider, "Dr A", "St Mary", "MD-A"))
	s.send(reg, client.RegistrationFor(chainID, s.b, identity.Provider, "Dr B", "City Clinic", "MD-B"))
	s.send(reg, client.RegistrationFor(chainID, s.auditor, identity.Auditor, "Auditor", "", ""))
	// Provider A registers the patient (with the patient's key): a care relationship.
	s.send(s.a, client.RegistrationFor(chainID, s.patient, identity.Patient, "Pat", "", ""))
	_, err = s.c.PublishCategories(ctx, s.patient, []string{"general", "mental-health"})
	s.must(err)
	return s
}

func (s *story) ks(name string) *keys.Keystore {
	k, err := keys.NewKeystore(name)
	s.must(err)
	return k
}

func (s *story) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *story) send(signer *keys.Keystore, body tx.Body) {
	s.t.Helper()
	if _, err := s.c.Send(s.ctx, signer, body); err != nil {
		s.t.Fatal(err)
	}
}

func (s *story) write(author *keys.Keystore, category, rtype, text string) *records.Meta {
	s.t.Helper()
	m, err := s.c.PutRecord(s.ctx, author, client.NewRecord{Patient: s.patient.ID, Category: category,
		ResourceType: rtype, ContentType: "application/fhir+json", Plaintext: []byte(text)})
	s.must(err)
	return m
}

func (s *story) read(who *keys.Keystore, m *records.Meta, purpose string) ([]byte, error) {
	r, err := s.c.ReadRecord(s.ctx, who, s.patient.ID, m.RecordID, purpose)
	if err != nil {
		return nil, err
	}
	return r.Plaintext, nil
}

func (s *story) mustDeny(who *keys.Keystore, m *records.Meta, purpose, reason string) {
	s.t.Helper()
	_, err := s.read(who, m, purpose)
	if !errors.Is(err, client.ErrDenied) {
		s.t.Fatalf("read of %s by %s for %s: want denied, got %v", m.RecordID, who.Name, purpose, err)
	}
	if !strings.Contains(err.Error(), reason) {
		s.t.Fatalf("denial reason %q does not mention %q", err, reason)
	}
}

func (s *story) mustRead(who *keys.Keystore, m *records.Meta, purpose, want string) {
	s.t.Helper()
	pt, err := s.read(who, m, purpose)
	if err != nil {
		s.t.Fatalf("read of %s by %s for %s: %v", m.RecordID, who.Name, purpose, err)
	}
	if string(pt) != want {
		s.t.Fatalf("read %q, want %q", pt, want)
	}
}

// events returns every audit event committed so far.
func (s *story) events() []*audit.Event {
	v := s.node.Node.View()
	var out []*audit.Event
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, err := v.Leaf(i)
		s.must(err)
		ev, err := audit.Decode(leaf)
		s.must(err)
		out = append(out, ev)
	}
	return out
}

func (s *story) countEvents(match func(*audit.Event) bool) int {
	n := 0
	for _, e := range s.events() {
		if match(e) {
			n++
		}
	}
	return n
}

const marker = "PLAINTEXT-MARKER-7f3a9c"

func TestConsentStory(t *testing.T) {
	s := newStory(t)
	obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","note":"%s-obs"}`, marker)
	psych := fmt.Sprintf(`{"resourceType":"Condition","note":"%s-psych"}`, marker)

	// A writes records for the patient it registered.
	r1 := s.write(s.a, "general", "Observation", obs)
	r2 := s.write(s.a, "mental-health", "Condition", psych)
	s.mustRead(s.a, r1, consent.Treatment, obs)         // the author reads back
	s.mustRead(s.patient, r2, consent.Treatment, psych) // the patient reads everything

	// B has no consent: denied, and the denial is on the ledger.
	s.mustDeny(s.b, r1, consent.Treatment, "no consent")
	if n := s.countEvents(func(e *audit.Event) bool {
		return e.Action == audit.RecordRead && e.Outcome == audit.Denied && e.Actor == s.b.ID && e.Record == r1.RecordID
	}); n != 1 {
		t.Fatalf("denied read events for B on r1: %d, want 1", n)
	}
	// B may not write for a patient it has no relationship with.
	_, err := s.c.PutRecord(s.ctx, s.b, client.NewRecord{Patient: s.patient.ID, Category: "general", ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: []byte("x")})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Codespace != string(records.Space) || ce.Code != records.CodeUnauthorized {
		t.Fatalf("write by B without consent: %v", err)
	}

	// The patient grants B read for treatment on "general".
	grant, err := s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	s.must(err)
	s.mustRead(s.b, r1, consent.Treatment, obs)
	s.mustDeny(s.b, r2, consent.Treatment, "does not cover")    // another category
	s.mustDeny(s.b, r1, consent.Research, `purpose "research"`) // wrong purpose
	list, err := s.c.ListRecords(s.ctx, s.b, s.patient.ID, consent.Treatment)
	s.must(err)
	if len(list) != 1 || list[0].RecordID != r1.RecordID {
		t.Fatalf("B lists %d records, want only r1", len(list))
	}

	// Amendments are new versions; history keeps both.
	amended, err := s.c.PutRecord(s.ctx, s.a, client.NewRecord{ID: r1.RecordID, Patient: s.patient.ID, Category: "general",
		ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: []byte(obs + " amended")})
	s.must(err)
	if amended.Version != 2 {
		t.Fatalf("amendment version %d", amended.Version)
	}
	res, err := s.c.ReadRecord(s.ctx, s.b, s.patient.ID, r1.RecordID, consent.Treatment)
	s.must(err)
	if len(res.History) != 2 || string(res.Plaintext) != obs+" amended" {
		t.Fatalf("after amendment: %d versions, %q", len(res.History), res.Plaintext)
	}
	oldShare := grantShare(t, s, grant)

	// The patient revokes: B is denied again and cannot decrypt what A writes next, even with
	// the raw ciphertext from the node's database and the key share it was given before.
	s.must(s.c.Revoke(s.ctx, s.patient, grant))
	s.mustDeny(s.b, r1, consent.Treatment, "revoked")
	r3 := s.write(s.a, "general", "Observation", obs+" after revocation")
	if r3.CategoryVersion != 2 {
		t.Fatalf("record after revocation uses category key version %d, want the rotated 2", r3.CategoryVersion)
	}
	v := s.node.Node.View()
	stored := records.Version(v, r3.RecordID, 1)
	raw := records.Ciphertext(v, stored)
	if _, err := client.Decrypt(s.b, stored, raw, oldShare); !errors.Is(err, envelope.ErrUnwrap) && !errors.Is(err, envelope.ErrTampered) {
		t.Fatalf("revoked grantee decrypting a later record with its old key share: %v", err)
	}
	s.mustRead(s.patient, r3, consent.Treatment, obs+" after revocation")

	// An expired grant denies. Expiry is judged by block time, so the test waits for a
	// committed block past it rather than for the wall clock.
	expiry := time.Now().Add(5 * time.Second)
	_, err = s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Scope: consent.Scope{Categories: []string{"general"}},
		Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}, Expiry: expiry})
	s.must(err)
	s.mustRead(s.b, r3, consent.Treatment, obs+" after revocation")
	for {
		st, err := s.c.Status(s.ctx)
		s.must(err)
		if st.BlockTime.After(expiry) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.mustDeny(s.b, r3, consent.Treatment, "expired")

	// A deny provision beats the permit it sits in.
	_, err = s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Actions: []string{consent.Read},
		Purposes: []string{consent.Treatment}, Deny: []consent.Deny{{Scope: consent.Scope{ResourceTypes: []string{"Observation"}}}}})
	s.must(err)
	s.mustDeny(s.b, r3, consent.Treatment, "deny provision")
	s.mustRead(s.b, r2, consent.Treatment, psych) // the same grant still permits the Condition

	// Tampered ciphertexts fail to decrypt with a clear error.
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	if _, err := client.Decrypt(s.a, stored, flipped, nil); !errors.Is(err, envelope.ErrTampered) {
		t.Fatalf("flipped bit: %v", err)
	}
	r1v2 := records.Version(v, r1.RecordID, 2)
	moved := *r1v2
	moved.RecordID = r3.RecordID // the same ciphertext and wraps presented as another record
	if _, err := client.Decrypt(s.a, &moved, records.Ciphertext(v, r1v2), nil); err == nil || !(errors.Is(err, envelope.ErrTampered) || errors.Is(err, envelope.ErrUnwrap)) {
		t.Fatalf("ciphertext moved to another record id: %v", err)
	}

	// Every one of these accesses is an event on the ledger.
	want := map[string]int{}
	for _, e := range s.events() {
		want[e.Action+"/"+e.Outcome]++
	}
	for _, k := range []string{"record.write/success", "record.amend/success", "consent.grant/success", "consent.revoke/success",
		"record.read/success", "record.read/denied", "record.list/success", "keys.publish/success"} {
		if want[k] == 0 {
			t.Errorf("no %s event on the ledger (have %v)", k, want)
		}
	}

	// Nothing in the node's data directory holds a plaintext marker.
	s.node.Stop()
	filepath.WalkDir(s.home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("plaintext marker found in %s", path)
		}
		return nil
	})
}

// grantShare fetches the key share B received with the grant.
func grantShare(t *testing.T, s *story, id string) *consent.KeyShare {
	gs, err := s.c.As(s.patient).Grants(s.ctx, s.patient.ID)
	s.must(err)
	for _, g := range gs {
		if g.ID == id && len(g.KeyShares) > 0 {
			return &g.KeyShares[0]
		}
	}
	t.Fatalf("grant %s has no key share", id)
	return nil
}

// TestWriteGrantTakesEffectAtTheNextBlock: a provider with no care relationship may write as
// soon as the patient's write grant is committed (block times compare at full precision).
func TestWriteGrantTakesEffectAtTheNextBlock(t *testing.T) {
	s := newStory(t)
	_, err := s.c.PutRecord(s.ctx, s.b, client.NewRecord{Patient: s.patient.ID, Category: "general", ResourceType: "Observation", ContentType: "application/fhir+json", Plaintext: []byte("x")})
	if err == nil {
		t.Fatal("B wrote without a grant")
	}
	_, err = s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Treatment}})
	s.must(err)
	m := s.write(s.b, "general", "Observation", "note by B")
	s.mustRead(s.patient, m, consent.Treatment, "note by B")
	// A write grant alone carries no key share: B reads its own record as its author only.
	s.mustRead(s.b, m, consent.Treatment, "note by B")
}

// TestReplayedReadReleasesNothing: a signed read request taken from a block and submitted
// again is not a new access; the node releases nothing for it.
func TestReplayedReadReleasesNothing(t *testing.T) {
	s := newStory(t)
	m := s.write(s.a, "general", "Observation", "replay me")
	q, err := s.c.NewReadRequest(s.ctx, s.a, s.patient.ID, m.RecordID, consent.Treatment)
	s.must(err)
	first, err := s.c.SubmitRead(s.ctx, q)
	s.must(err)
	if !first.Outcome.Allowed || len(first.Ciphertext) == 0 {
		t.Fatalf("first read: %+v", first.Outcome)
	}
	events := len(s.events())
	again, err := s.c.SubmitRead(s.ctx, q)
	if err == nil {
		t.Fatalf("replayed request released data: %+v", again.Outcome)
	}
	if n := len(s.events()); n != events {
		t.Fatalf("replay changed the audit log: %d events, was %d", n, events)
	}
}

// TestLargeRecordGoesToTheBlobStore: an attachment above the inline limit travels as a blob;
// only its digest is on chain; a grantee reads and decrypts it; a blob altered on the node's
// disk is reported, never served.
func TestLargeRecordGoesToTheBlobStore(t *testing.T) {
	s := newStory(t)
	pdf := bytes.Repeat([]byte("%PDF-1.7 scanned discharge letter "), 4000) // ~136 KB
	m, err := s.c.PutRecord(s.ctx, s.a, client.NewRecord{Patient: s.patient.ID, Category: "general",
		ResourceType: "DocumentReference", ContentType: "application/pdf", Plaintext: pdf})
	s.must(err)
	if !m.Blob || m.Size <= records.InlineMax {
		t.Fatalf("a %d-byte attachment was not stored as a blob: %+v", len(pdf), m)
	}
	if records.Ciphertext(s.node.Node.View(), m) != nil {
		t.Fatal("the blob's ciphertext was also stored inline")
	}
	_, err = s.c.Grant(s.ctx, s.patient, consent.Grant{Grantee: s.b.ID, Actions: []string{consent.Read}, Purposes: []string{consent.Treatment}})
	s.must(err)
	r, err := s.c.ReadRecord(s.ctx, s.b, s.patient.ID, m.RecordID, consent.Treatment)
	s.must(err)
	if !bytes.Equal(r.Plaintext, pdf) {
		t.Fatal("blob record decrypted to different bytes")
	}
	// Alter the stored blob: the node refuses to serve it.
	var blobPath string
	filepath.WalkDir(filepath.Join(s.home, "app", "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, fmt.Sprintf("%x", m.Digest)) {
			blobPath = p
		}
		return nil
	})
	if blobPath == "" {
		t.Fatal("blob file not found under app/blobs")
	}
	b, _ := os.ReadFile(blobPath)
	b[len(b)/2] ^= 1
	s.must(os.WriteFile(blobPath, b, 0o600))
	if _, err := s.c.ReadRecord(s.ctx, s.b, s.patient.ID, m.RecordID, consent.Treatment); err == nil {
		t.Fatal("a tampered blob was served and decrypted")
	}
}
