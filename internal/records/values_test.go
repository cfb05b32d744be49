package records

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/ehrchain/ehrchain/internal/state"
)

// TestValuesAppendInKeyOrder: large values written by successive transactions, in one
// block and across blocks and a restart, land under increasing keys and are found again
// through their lookup keys.
func TestValuesAppendInKeyOrder(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	var seqs []uint64
	write := func(lookup string) {
		tx := st.Begin()
		v := bytes.Repeat([]byte(lookup), 100)
		putValue(tx, []byte(lookup), v)
		tx.Flush()
		want[lookup] = v
		seqs = append(seqs, binary.BigEndian.Uint64(st.GetIndex([]byte(lookup))))
	}
	for h := int64(1); h <= 3; h++ {
		for i := range 4 {
			write(fmt.Sprintf("ct/%d-%d", h, i))
		}
		if _, err := st.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if st, err = state.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write("ct/after-restart")

	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("value %d stored at sequence %d after %d: values must append in key order", i, seqs[i], seqs[i-1])
		}
	}
	for lookup, v := range want {
		if got := getValue(st, []byte(lookup)); !bytes.Equal(got, v) {
			t.Fatalf("%s read back %d bytes, want the %d written", lookup, len(got), len(v))
		}
	}
	if got := getValue(st, []byte("ct/never-written")); got != nil {
		t.Fatalf("a lookup key never written returned %d bytes", len(got))
	}
	if v := st.Committed(); getValue(v, []byte("ct/3-3")) == nil {
		t.Fatal("the committed view does not find a value written before the restart")
	}
}
