package records

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/decodecache"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestValuesAppendInKeyOrder: the record entries written by successive writes, in one
// block and across blocks and a restart, land under increasing keys (their events' log
// indexes), and the head, version and digest lookups find them again.
func TestValuesAppendInKeyOrder(t *testing.T) {
	c := newChart(t)
	var keys [][]byte
	cts := map[string]string{}
	write := func(id string, v uint32) {
		ct := fmt.Sprintf("ciphertext of %s v%d", id, v)
		c.ok(c.dr, write(c.put(id, v, ct)))
		_, li, ok := headEntry(c.Store, id)
		if !ok {
			t.Fatalf("%s: the head does not point at a record entry", id)
		}
		keys = append(keys, recordValueKey(li))
		cts[fmt.Sprint(id, v)] = ct
	}
	for h := int64(1); h <= 3; h++ {
		for i := range 4 {
			write(fmt.Sprintf("r-%d-%d", h, i), 1)
		}
		write(fmt.Sprintf("r-%d-0", h), 2) // an amendment
		if _, err := c.Store.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	dir := c.Dir
	c.Store.Close()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.UseDecodeCache(decodecache.NewSet())
	c.Store = st
	write("r-after-restart", 1)

	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i], keys[i-1]) <= 0 {
			t.Fatalf("record entry %d stored under %x after %x: entries must append in key order", i, keys[i], keys[i-1])
		}
	}
	for h := int64(1); h <= 3; h++ {
		for i := range 4 {
			id := fmt.Sprintf("r-%d-%d", h, i)
			if m, h := Latest(st, id); m == nil || m.Version != h || h != Head(st, id) {
				t.Fatalf("%s: the latest version is %v at head %d", id, m, h)
			}
			for v := uint32(1); v <= Head(st, id); v++ {
				m := Version(st, id, v)
				if m == nil || m.Version != v {
					t.Fatalf("%s version %d not found", id, v)
				}
				if got := Ciphertext(st, m); string(got) != cts[fmt.Sprint(id, v)] {
					t.Fatalf("%s version %d: ciphertext %q", id, v, got)
				}
			}
		}
	}
	if Version(st, "never-written", 1) != nil || Ciphertext(st, &Meta{RecordID: "never-written", Version: 1}) != nil {
		t.Fatal("a record never written was found")
	}
	// An erased record's head no longer points at an entry: readers that see a live head
	// entry skip the tombstone lookup, so erasure must not leave one.
	c.ok(c.dr, func(s *state.Tx, _ identity.Env) *tx.Error { Erase(s, "r-1-0", Tombstone{By: c.dr}); return nil })
	if h, _, ok := headEntry(st, "r-1-0"); ok || h != 2 {
		t.Fatalf("after erasure the head is version %d, pointing at an entry: %v", h, ok)
	}
	if m, h, live := latest(st, "r-1-0"); m != nil || h != 2 || live || Erased(st, "r-1-0") == nil {
		t.Fatal("an erased record reads as live")
	}
}

// TestEarlierLayoutReads: a record stored as writes did before record entries (values under
// a counter, 8-byte pointers, a 4-byte head) is read, amended and erased as before.
func TestEarlierLayoutReads(t *testing.T) {
	c := newChart(t)
	b := c.put("old", 1, "old ciphertext")
	m := b.Meta
	m.Author, m.Height = c.dr, 1
	stored := m.Encode()
	c.ok(c.dr, func(s *state.Tx, _ identity.Env) *tx.Error {
		s.PutIndex(valueKey(7), stored)
		s.PutIndex(versionKey("old", 1), binary.BigEndian.AppendUint64(nil, 7))
		s.PutIndex(valueKey(8), b.Ciphertext)
		s.PutIndex(cipherKey(m.Digest), binary.BigEndian.AppendUint64(nil, 8))
		s.PutIndex(headKey("old"), binary.BigEndian.AppendUint32(nil, 1))
		s.PutIndex(patientKey(c.pat, "old"), []byte("general"))
		s.PutIndex([]byte("rn"), binary.BigEndian.AppendUint64(nil, 9))
		return nil
	})
	if got := Version(c.Store, "old", 1); got == nil || !bytes.Equal(got.Encode(), stored) {
		t.Fatal("a version in the earlier layout is not read")
	}
	if got, h := Latest(c.Store, "old"); h != 1 || got == nil || !bytes.Equal(got.Encode(), stored) {
		t.Fatal("the head of a record in the earlier layout is not read")
	}
	if got := Ciphertext(c.Store, &m); string(got) != "old ciphertext" {
		t.Fatalf("a ciphertext in the earlier layout reads %q", got)
	}
	c.ok(c.dr, write(c.put("old", 2, "amended")))
	if v1, v2 := Version(c.Store, "old", 1), Version(c.Store, "old", 2); v1 == nil || v2 == nil || Head(c.Store, "old") != 2 ||
		string(Ciphertext(c.Store, v2)) != "amended" {
		t.Fatal("amending a record in the earlier layout lost a version")
	}
	c.ok(c.dr, func(s *state.Tx, _ identity.Env) *tx.Error { Erase(s, "old", Tombstone{By: c.dr}); return nil })
	for _, k := range [][]byte{valueKey(7), valueKey(8), versionKey("old", 1), cipherKey(m.Digest)} {
		if c.Store.GetIndex(k) != nil {
			t.Fatalf("erasure left %q", k)
		}
	}
	if got, h := Latest(c.Store, "old"); got != nil || h != 2 {
		t.Fatalf("after erasure the head is version %d with metadata %v, want 2 and none", h, got)
	}
	if Version(c.Store, "old", 2) != nil || Head(c.Store, "old") != 2 {
		t.Fatal("erasure left the new version readable or moved the head")
	}
}

// TestVersionAndCiphertext: a version and its ciphertext read together are the ones read
// apart, for the head (one entry), an older version and a record in the earlier layout.
func TestVersionAndCiphertext(t *testing.T) {
	c := newChart(t)
	c.ok(c.dr, write(c.put("r", 1, "one")))
	c.ok(c.dr, write(c.put("r", 2, "two")))
	for v, want := range map[uint32]string{1: "one", 2: "two"} {
		m, ct := VersionAndCiphertext(c.Store, "r", v)
		if m == nil || m.Version != v || string(ct) != want || !bytes.Equal(m.Encode(), Version(c.Store, "r", v).Encode()) {
			t.Fatalf("version %d read with its ciphertext: %v %q", v, m, ct)
		}
	}
	if m, ct := VersionAndCiphertext(c.Store, "r", 3); m != nil || ct != nil {
		t.Fatal("a version never written was found")
	}
}

// TestSameCiphertextInTwoRecords: an author may store the same ciphertext under two records.
// Each version finds its own ciphertext through its own entry, so erasing one record leaves
// the other whole, also where a write of the earlier release left a pointer from the digest
// into the other record's entry.
func TestSameCiphertextInTwoRecords(t *testing.T) {
	c := newChart(t)
	erase := func(id string) {
		c.ok(c.dr, func(s *state.Tx, _ identity.Env) *tx.Error { Erase(s, id, Tombstone{By: c.dr}); return nil })
	}
	whole := func(id string, versions uint32) {
		t.Helper()
		for v := uint32(1); v <= versions; v++ {
			m := Version(c.Store, id, v)
			if m == nil || string(Ciphertext(c.Store, m)) != "same" {
				t.Fatalf("%s version %d lost its metadata or ciphertext", id, v)
			}
		}
	}
	c.ok(c.dr, write(c.put("a", 1, "same")))
	c.ok(c.dr, write(c.put("b", 1, "same")))
	c.ok(c.dr, write(c.put("b", 2, "same")))
	d := Version(c.Store, "a", 1).Digest
	if c.Store.GetIndex(cipherKey(d)) != nil {
		t.Fatal("a write left a pointer from its ciphertext's digest")
	}
	erase("a")
	whole("b", 2)

	// As the earlier release wrote them: the later write's digest pointer into its entry.
	c.ok(c.dr, write(c.put("c", 1, "same")))
	c.ok(c.dr, write(c.put("e", 1, "same")))
	_, li, _ := headEntry(c.Store, "e")
	c.ok(c.dr, func(s *state.Tx, _ identity.Env) *tx.Error {
		s.PutIndex(cipherKey(d), pointer(li, partCiphertext))
		return nil
	})
	erase("c")
	whole("e", 1)
	if c.Store.GetIndex(cipherKey(d)) == nil {
		t.Fatal("erasing one record removed the digest pointer into another's entry")
	}
	erase("e")
	if c.Store.GetIndex(cipherKey(d)) != nil || c.Store.GetIndex(recordValueKey(li)) != nil {
		t.Fatal("erasing the record the digest pointer belongs to left the pointer or its entry")
	}
}
