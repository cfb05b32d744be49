package decodecache

import (
	"errors"
	"testing"
)

func TestSameBytesDecodeOnce(t *testing.T) {
	calls := 0
	c := New(2, func(b []byte) (*string, error) {
		calls++
		s := string(b)
		return &s, nil
	})
	a, _ := c.Get([]byte("x"))
	b, _ := c.Get([]byte("x"))
	if a != b || calls != 1 {
		t.Fatalf("second Get of the same bytes decoded again (calls=%d)", calls)
	}
	c.Get([]byte("y"))
	c.Get([]byte("z")) // full: the cache starts over
	if _, err := c.Get([]byte("x")); err != nil || calls != 4 {
		t.Fatalf("after the cache filled, x should decode anew: calls=%d", calls)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	fail := true
	c := New(10, func(b []byte) (*string, error) {
		if fail {
			return nil, errors.New("bad")
		}
		s := string(b)
		return &s, nil
	})
	if _, err := c.Get([]byte("x")); err == nil {
		t.Fatal("decode error was not returned")
	}
	fail = false
	if v, err := c.Get([]byte("x")); err != nil || *v != "x" {
		t.Fatalf("a failed decode was remembered: %v %v", v, err)
	}
}

// holder is a reader that carries a set, as the state store's readers do.
type holder struct{ s *Set }

func (h holder) DecodeCache() *Set { return h.s }

func countingKind(calls *int) *Kind[string] {
	return NewKind(10, func(b []byte) (*string, error) {
		*calls++
		s := string(b)
		return &s, nil
	})
}

func TestSetsDoNotShare(t *testing.T) {
	calls := 0
	k := countingKind(&calls)
	one, two := holder{NewSet()}, holder{NewSet()}
	a, _ := Decode(one, k, []byte("x"))
	b, _ := Decode(one, k, []byte("x"))
	if a != b || calls != 1 {
		t.Fatalf("the same set decoded the same bytes twice (calls=%d)", calls)
	}
	c, _ := Decode(two, k, []byte("x"))
	if c == a || calls != 2 {
		t.Fatalf("a second set answered from the first set's cache (calls=%d)", calls)
	}
}

func TestReaderWithoutSetDecodesEachTime(t *testing.T) {
	calls := 0
	k := countingKind(&calls)
	for _, r := range []any{struct{}{}, holder{nil}} {
		a, _ := Decode(r, k, []byte("x"))
		b, _ := Decode(r, k, []byte("x"))
		if a == b || *a != "x" || *b != "x" {
			t.Fatalf("a reader without a set (%T) got a shared value", r)
		}
	}
	if calls != 4 {
		t.Fatalf("calls=%d, want every Decode to decode", calls)
	}
}

func TestKindsInOneSetAreApart(t *testing.T) {
	calls := 0
	k1, k2 := countingKind(&calls), countingKind(&calls)
	h := holder{NewSet()}
	Decode(h, k1, []byte("x"))
	Decode(h, k2, []byte("x"))
	if calls != 2 {
		t.Fatalf("two kinds shared one cache (calls=%d)", calls)
	}
}
