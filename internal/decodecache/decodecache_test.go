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
