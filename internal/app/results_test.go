package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

type indexMap map[string][]byte

func (m indexMap) GetIndex(k []byte) []byte { return m[string(k)] }

// A result reads back as it was stored, in the binary form and in the JSON form databases of
// earlier versions hold; a value in neither form is not a result.
func TestResultsReadBackInEitherForm(t *testing.T) {
	h := sha256.Sum256([]byte("tx"))
	want := Result{Hash: hex.EncodeToString(h[:]), Height: 1 << 40, Code: 7, Codespace: "records", Log: "the patient's category key changed: re-wrap"}
	old, _ := json.Marshal(want)
	for name, v := range map[string][]byte{
		"binary": encodeResult(&blockResult{hash: h, height: want.Height, code: want.Code, codespace: want.Codespace, log: want.Log}),
		"json":   old,
	} {
		got, ok := LookupResult(indexMap{string(resultKey(h)): v}, h)
		if !ok || got != want {
			t.Errorf("%s: read back %+v (%v), want %+v", name, got, ok, want)
		}
	}
	ok := encodeResult(&blockResult{hash: h, height: 12})
	if len(ok) > 5 {
		t.Errorf("an accepted transaction's result takes %d bytes", len(ok))
	}
	if got, _ := decodeResult(h, ok); got.Code != 0 || got.Height != 12 || got.Log != "" || got.Codespace != "" {
		t.Errorf("accepted result read back as %+v", got)
	}
	for name, v := range map[string][]byte{
		"empty":                    {},
		"unknown form":             {2, 12, 0, 0},
		"cut short":                {resultFormat, 12},
		"codespace past the end":   {resultFormat, 12, 1, 9, 'a'},
		"height past int64":        {resultFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0},
		"code past uint32":         {resultFormat, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0},
		"json that does not parse": []byte("{\"height\":"),
	} {
		if r, ok := decodeResult(h, v); ok {
			t.Errorf("%s: decoded as %+v", name, r)
		}
	}
	if _, ok := LookupResult(indexMap{}, h); ok {
		t.Error("a transaction never committed has a result")
	}
}
