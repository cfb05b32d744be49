package keys

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecrypt feeds arbitrary files and passphrases to Decrypt and
// PublicInfo. Neither may panic, and they must agree with each other.
func FuzzDecrypt(f *testing.F) {
	ks := fullKeystore(f)
	valid, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid, testPass)
	f.Add(valid, []byte("wrong"))
	f.Add(valid[:len(valid)/2], testPass)
	f.Add([]byte{}, []byte{})
	f.Add([]byte("{}"), testPass)
	f.Add([]byte("null"), testPass)
	f.Add([]byte(`{"version":1,"kdf":{"alg":"argon2id","time":100,"memory_kib":4294967295,"threads":255}}`), testPass)
	f.Add(bytes.ReplaceAll(valid, []byte(`"time": 1`), []byte(`"time": 0`)), testPass)

	f.Fuzz(func(t *testing.T, data, pass []byte) {
		info, infoErr := PublicInfo(data)
		if infoErr != nil && !errors.Is(infoErr, ErrMalformed) {
			t.Fatalf("PublicInfo error not ErrMalformed: %v", infoErr)
		}
		// Keep each input cheap: a file that parses may ask for up to 4 GiB
		// of Argon2id memory, which is accepted but not worth fuzzing.
		if hdr, err := parseFile(data); err == nil {
			p := hdr.KDF.params()
			if p.MemoryKiB > 2*TestKDF.MemoryKiB || p.Time > 2 || p.Threads > 4 {
				return
			}
		}
		got, err := Decrypt(data, pass)
		if err != nil {
			if got != nil {
				t.Fatal("Decrypt returned a keystore with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if infoErr != nil {
			t.Fatalf("Decrypt succeeded but PublicInfo failed: %v", infoErr)
		}
		if got.Name != info.Name || got.ID != info.ID ||
			!bytes.Equal(got.Keys.SignPublic(), info.SignPublic) || !bytes.Equal(got.Keys.EncPublic(), info.EncPublic) {
			t.Fatal("Decrypt and PublicInfo disagree")
		}
	})
}
