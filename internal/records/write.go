package records

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Store is the state the record handlers use.
type Store interface {
	Get(key []byte) []byte
	Set(key, value []byte)
	Append(leaf []byte) uint64
	PutIndex(key, value []byte)
	GetIndex(key []byte) []byte
}

// IndexReader reads the derived record index.
type IndexReader interface {
	Get(key []byte) []byte
	GetIndex(key []byte) []byte
}

// Head is the latest version of a record, 0 if none.
func Head(r IndexReader, id string) uint32 {
	b := r.GetIndex(headKey(id))
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Version loads one stored record version, or nil.
func Version(r IndexReader, id string, v uint32) *Meta {
	b := storedMeta(r, id, v)
	if b == nil {
		return nil
	}
	m, err := DecodeMeta(b)
	if err != nil {
		panic(err)
	}
	return m
}

// Latest loads the head version of a record and its number, reading the head entry once:
// nil and 0 if there is none, nil and the head's number if it was erased.
func Latest(r IndexReader, id string) (*Meta, uint32) {
	m, h, _ := latest(r, id)
	return m, h
}

// latest is Latest, and whether the head entry shows the record is not erased (live);
// otherwise only its tombstone tells.
func latest(r IndexReader, id string) (_ *Meta, _ uint32, live bool) {
	h, li, ok := headEntry(r, id)
	if h == 0 {
		return nil, 0, false
	}
	var b []byte
	if ok {
		b = entryPart(r, li, partMeta)
	} else {
		b = getValue(r, versionKey(id, h))
	}
	if b == nil {
		return nil, h, false
	}
	m, err := DecodeMeta(b)
	if err != nil {
		panic(err)
	}
	return m, h, ok
}

// VersionAndCiphertext loads a stored version and its inline ciphertext (nil for a blob
// record), what an allowed read releases; the head version's come from one entry.
func VersionAndCiphertext(r IndexReader, id string, v uint32) (*Meta, []byte) {
	if h, li, ok := headEntry(r, id); ok && h == v {
		e := r.GetIndex(recordValueKey(li))
		meta, ct := splitEntry(e)
		if meta == nil {
			return nil, nil
		}
		m, err := DecodeMeta(meta)
		if err != nil {
			panic(err)
		}
		if m.Blob {
			ct = nil
		}
		return m, ct
	}
	m := Version(r, id, v)
	if m == nil || m.Blob {
		return m, nil
	}
	return m, Ciphertext(r, m)
}

// Ciphertext loads the inline ciphertext of the version m describes, or nil (a blob's is in
// the blob store). It is the second part of the version's record entry; versions written
// before record entries are found by their digest.
func Ciphertext(r IndexReader, m *Meta) []byte {
	var ct []byte
	if li, ok := versionEntry(r, m.RecordID, m.Version); ok {
		ct = entryPart(r, li, partCiphertext)
	} else {
		ct = getValue(r, cipherKey(m.Digest))
	}
	if len(ct) == 0 {
		return nil
	}
	return ct
}

// MayAuthor reports whether an identity of role r can write any record at all: a patient
// their own, a provider their patients' (access.Decide judges each write). Blob uploads, which
// precede a write, are taken only from these roles.
func MayAuthor(r identity.Role) bool { return r == identity.Patient || r == identity.Provider }

// ExecPut validates and stores a record version written for treatment.
func ExecPut(st Store, env identity.Env, signer string, b *PutBody) *tx.Error {
	return ExecPutFor(st, env, signer, b, access.Treatment, nil)
}

// ExecPutFor is ExecPut for a purpose: access.Decide judges the write from the state, with
// the emergency declarations em reads for an urgent (access.Emergency) write, and the
// write's audit event names the rule, grant or declaration that allowed it.
func ExecPutFor(st Store, env identity.Env, signer string, b *PutBody, purpose string, em EmergencyFacts) *tx.Error {
	m := b.Meta
	if !ValidID(m.RecordID) {
		return Space.Err(CodeInvalid, "record id %q: use 1-64 letters, digits, '.', '_' or '-'", m.RecordID)
	}
	if m.ResourceType == "" || m.ContentType == "" || m.Category == "" {
		return Space.Err(CodeInvalid, "a record needs a category, a resource type and a content type")
	}
	patient := identity.Get(st, m.Patient)
	if patient == nil || patient.Role != identity.Patient || !patient.Active {
		return Space.Err(CodeNoPatient, "%s is not an active registered patient", m.Patient)
	}
	author := env.Signer
	head, _, live := headEntry(st, m.RecordID)
	d := decideWrite(st, author, &m, purpose, env.Time, em, head != 0 && !live)
	if d.Code == access.Erased {
		return Space.Err(CodeErased, "record %s: %s", m.RecordID, d.Reason)
	}
	if !d.Allowed {
		return Space.Err(CodeUnauthorized, "%s may not write this record for patient %s: %s", signer, m.Patient, d.Reason)
	}
	if want := head + 1; m.Version != want {
		if want == 1 {
			return Space.Err(CodeVersion, "record %s does not exist: a new record is version 1, got %d", m.RecordID, m.Version)
		}
		return Space.Err(CodeVersion, "record %s is at version %d: an amendment must be version %d, got %d (records are never overwritten)", m.RecordID, want-1, want, m.Version)
	}
	var prev *Meta
	if m.Version > 1 {
		if prev = Version(st, m.RecordID, m.Version-1); prev.Patient != m.Patient {
			return Space.Err(CodeInvalid, "record %s belongs to another patient", m.RecordID)
		}
	}
	ck := consent.CurrentKey(st, m.Patient, m.Category)
	if ck == nil {
		return Space.Err(CodeKeyVersion, "patient %s has no key for category %q; the patient must publish one", m.Patient, m.Category)
	}
	if m.CategoryVersion != ck.Version {
		return Space.Err(CodeKeyVersion, "the data key is wrapped for version %d of the patient's %q key; the current version is %d", m.CategoryVersion, m.Category, ck.Version)
	}
	if m.AuthorKeyVersion != author.KeyVersion {
		return Space.Err(CodeKeyVersion, "the author wrap is for key version %d; your current key version is %d", m.AuthorKeyVersion, author.KeyVersion)
	}
	if len(m.PatientWrap) != wrapSize {
		return Space.Err(CodeInvalid, "the patient's wrapped data key must be %d bytes, not %d", wrapSize, len(m.PatientWrap))
	}
	if len(m.AuthorWrap) != selfWrapSize && len(m.AuthorWrap) != wrapSize {
		return Space.Err(CodeInvalid, "the author's wrapped data key must be %d bytes (or %d, an HPKE wrap), not %d", selfWrapSize, wrapSize, len(m.AuthorWrap))
	}
	if m.Blob {
		if len(b.Ciphertext) != 0 || m.Size <= InlineMax || m.Size > MaxBlob {
			return Space.Err(CodeDigest, "a blob record carries no inline ciphertext and is %d to %d bytes", InlineMax+1, MaxBlob)
		}
	} else {
		if uint64(len(b.Ciphertext)) != m.Size || m.Size == 0 {
			return Space.Err(CodeDigest, "ciphertext is %d bytes but the record declares %d", len(b.Ciphertext), m.Size)
		}
		if d := sha256.Sum256(b.Ciphertext); b.derived {
			m.Digest, b.Meta.Digest = d, d
		} else if d != m.Digest {
			return Space.Err(CodeDigest, "ciphertext does not match its declared SHA-256 digest")
		}
	}
	m.Author, m.Height, m.Time = signer, env.Height, env.Time.Unix()
	stored := m.Encode()
	action := audit.RecordWrite
	if m.Version > 1 {
		action = audit.RecordAmend
	}
	ev := env.Event(signer, action)
	ev.ActorRole, ev.Organization, ev.Patient = string(author.Role), author.Organization, m.Patient
	ev.Record, ev.Version, ev.Category, ev.ResourceType, ev.Digest = m.RecordID, m.Version, m.Category, m.ResourceType, MetaDigest(stored)
	ev.Reason, ev.Grant, ev.Emergency, ev.Rule = d.Reason, d.Grant, d.Emergency, string(d.Code)
	if purpose != access.Treatment {
		ev.Purpose = purpose
	}
	storeVersion(st, &m, prev, stored, b.Ciphertext, st.Append(ev.Encode()))
	return nil
}

// storeVersion writes the index entries of version m (values.go): its record entry under
// li, the log index of its write's event, and the keys that lead to it. prev is the version
// it amends, nil for a new record.
func storeVersion(st Store, m, prev *Meta, stored, ct []byte, li uint64) {
	if m.Blob {
		ct = nil
	}
	st.PutIndex(recordValueKey(li), recordEntry(stored, ct))
	if prev != nil {
		if h, hli, ok := headEntry(st, m.RecordID); ok && h == prev.Version {
			st.PutIndex(versionKey(m.RecordID, h), pointer(hli, partMeta)) // no longer the head
		}
	}
	st.PutIndex(headKey(m.RecordID), headValue(m.Version, li))
	if prev == nil || prev.Category != m.Category {
		st.PutIndex(patientKey(m.Patient, m.RecordID), []byte(m.Category))
	}
}

// IndexIterator lists derived index entries.
type IndexIterator interface {
	IndexReader
	IterateIndex(prefix []byte, fn func(key, value []byte) bool) error
}

// PatientRecords lists the ids of a patient's records.
func PatientRecords(r IndexIterator, patient string) []string {
	var ids []string
	p := patientPrefix(patient)
	r.IterateIndex(p, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(p):]))
		return true
	})
	return ids
}

// EachRecord calls fn with the id of every record ever written (erased ones included: their
// head stays) after the id after ("" from the first), in id order, until fn returns false.
func EachRecord(r IndexIterator, after string, fn func(id string) bool) error {
	p := headKey("")
	return r.IterateIndex(p, func(k, _ []byte) bool {
		id := string(k[len(p):])
		return id <= after || fn(id)
	})
}

// History lists every version of a record, oldest first.
func History(r IndexReader, id string) []*Meta {
	var out []*Meta
	for v := uint32(1); v <= Head(r, id); v++ {
		if m := Version(r, id, v); m != nil {
			out = append(out, m)
		}
	}
	return out
}
