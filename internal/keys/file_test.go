package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var testPass = []byte("correct horse battery staple")

// fullKeystore has previous and category keys so every part of the sealed
// payload is exercised.
func fullKeystore(t testing.TB) *Keystore {
	t.Helper()
	ks, err := NewKeystore("dr-alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	ks.AddCategoryKey("labs", 1, newCategoryKey(t))
	ks.AddCategoryKey("labs", 2, newCategoryKey(t))
	ks.AddCategoryKey("mental-health", 1, newCategoryKey(t))
	return ks
}

func encSeed(t testing.TB, k hpke.PrivateKey) []byte {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func samePair(t testing.TB, a, b *KeyPair) bool {
	return a.Sign.Equal(b.Sign) && bytes.Equal(encSeed(t, a.Enc), encSeed(t, b.Enc))
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	ks := fullKeystore(t)
	data, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(data, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != ks.Name || got.ID != ks.ID {
		t.Errorf("name/id %q/%q, want %q/%q", got.Name, got.ID, ks.Name, ks.ID)
	}
	if !samePair(t, got.Keys, ks.Keys) {
		t.Error("current keys differ")
	}
	if len(got.Previous) != len(ks.Previous) || !samePair(t, got.Previous[0], ks.Previous[0]) {
		t.Error("previous keys differ")
	}
	if len(got.Category) != len(ks.Category) {
		t.Fatalf("%d category keys, want %d", len(got.Category), len(ks.Category))
	}
	for i, c := range ks.Category {
		g := got.Category[i]
		if g.Category != c.Category || g.Version != c.Version || !bytes.Equal(encSeed(t, g.Priv), encSeed(t, c.Priv)) {
			t.Errorf("category key %d differs", i)
		}
	}

	// The file is the documented JSON shape and holds no private key bytes.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "name", "id", "sign_public", "enc_public", "kdf", "nonce", "ciphertext"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	kdf := m["kdf"].(map[string]any)
	if kdf["alg"] != "argon2id" || kdf["time"] != 1.0 || kdf["memory_kib"] != 8192.0 || kdf["threads"] != 1.0 {
		t.Errorf("kdf = %v", kdf)
	}
	if bytes.Contains(data, ks.Keys.Sign.Seed()) || bytes.Contains(data, encSeed(t, ks.Keys.Enc)) {
		t.Error("private key bytes appear in the file")
	}

	// A fresh salt and nonce each time.
	again, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, data) {
		t.Error("two encryptions are identical")
	}
}

func TestSecretSerialisationDeterministic(t *testing.T) {
	ks := fullKeystore(t)
	a, err := marshalSecret(ks)
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshalSecret(ks)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("secret serialisation is not deterministic")
	}
	back := &Keystore{}
	if err := unmarshalSecret(back, bytes.Clone(a)); err != nil {
		t.Fatal(err)
	}
	c, err := marshalSecret(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Fatal("secret serialisation does not round trip")
	}
	// Every truncation and any trailing byte is rejected.
	for n := range len(a) {
		if err := unmarshalSecret(&Keystore{}, a[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: got %v", n, err)
		}
	}
	if err := unmarshalSecret(&Keystore{}, append(bytes.Clone(a), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: got %v", err)
	}
	// A duplicate category version is rejected.
	dup := fullKeystore(t)
	dup.Category = append(dup.Category, dup.Category[0])
	if _, err := marshalSecret(dup); !errors.Is(err, ErrInvalidKeystore) {
		t.Fatalf("duplicate on write: got %v", err)
	}
	dup.Category = dup.Category[:len(dup.Category)-1]
	raw, err := marshalSecret(dup)
	if err != nil {
		t.Fatal(err)
	}
	// Append a copy of the last category entry and bump the count.
	last := raw[len(raw)-(2+len("mental-health")+4+32):]
	raw = append(raw, last...)
	raw[4+2*pairSize+3]++ // low byte of the category count
	if err := unmarshalSecret(&Keystore{}, raw); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate on read: got %v", err)
	}
}

func TestDecryptWrongPassphrase(t *testing.T) {
	ks := fullKeystore(t)
	data, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{[]byte("wrong"), nil, append(bytes.Clone(testPass), ' '), testPass[:len(testPass)-1]} {
		if _, err := Decrypt(data, p); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrase %q: got %v, want ErrWrongPassphrase", p, err)
		}
	}
}

func TestEncryptRejects(t *testing.T) {
	good := func() *Keystore { return fullKeystore(t) }
	x25519, err := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*Keystore)
		pass   []byte
		kdf    KDFParams
		want   error
	}{
		{"empty passphrase", nil, []byte{}, TestKDF, ErrEmptyPassphrase},
		{"time 0", nil, testPass, KDFParams{0, 8192, 1}, ErrBadKDFParams},
		{"time 101", nil, testPass, KDFParams{101, 8192, 1}, ErrBadKDFParams},
		{"memory too small", nil, testPass, KDFParams{1, 8191, 1}, ErrBadKDFParams},
		{"memory over 4 GiB", nil, testPass, KDFParams{1, 4*1024*1024 + 1, 1}, ErrBadKDFParams},
		{"threads 0", nil, testPass, KDFParams{1, 8192, 0}, ErrBadKDFParams},
		{"bad name", func(k *Keystore) { k.Name = "a/b" }, testPass, TestKDF, ErrBadName},
		{"bad id", func(k *Keystore) { k.ID = strings.ToUpper(k.ID) }, testPass, TestKDF, ErrInvalidKeystore},
		{"no keys", func(k *Keystore) { k.Keys = nil }, testPass, TestKDF, ErrInvalidKeystore},
		{"nil previous", func(k *Keystore) { k.Previous = append(k.Previous, nil) }, testPass, TestKDF, ErrInvalidKeystore},
		{"short sign key", func(k *Keystore) { k.Keys.Sign = k.Keys.Sign[:32] }, testPass, TestKDF, ErrBadKey},
		{"foreign enc key", func(k *Keystore) { k.Keys.Enc = x25519 }, testPass, TestKDF, ErrBadKey},
		{"foreign category key", func(k *Keystore) { k.AddCategoryKey("x", 1, x25519) }, testPass, TestKDF, ErrBadKey},
		{"nil category key", func(k *Keystore) { k.AddCategoryKey("x", 1, nil) }, testPass, TestKDF, ErrBadKey},
		{"empty category", func(k *Keystore) { k.AddCategoryKey("", 1, newCategoryKey(t)) }, testPass, TestKDF, ErrInvalidKeystore},
		{"long category", func(k *Keystore) { k.AddCategoryKey(strings.Repeat("c", 256), 1, newCategoryKey(t)) }, testPass, TestKDF, ErrInvalidKeystore},
	}
	for _, c := range cases {
		ks := good()
		if c.mutate != nil {
			c.mutate(ks)
		}
		if _, err := Encrypt(ks, c.pass, c.kdf); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Encrypt(nil, testPass, TestKDF); !errors.Is(err, ErrInvalidKeystore) {
		t.Errorf("nil keystore: got %v", err)
	}
}

// setJSON rewrites one field of an encrypted keystore, leaving the rest
// (including the seal) as it was.
func setJSON(t testing.TB, data []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecryptRejectsMalformed(t *testing.T) {
	ks := fullKeystore(t)
	data, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	kdf := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) { m["kdf"].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) { m[k] = v }
	}
	del := func(k string) func(map[string]any) {
		return func(m map[string]any) { delete(m, k) }
	}
	cases := []struct {
		name string
		edit func(map[string]any)
		also error
	}{
		{"version 2", set("version", 2), nil},
		{"version 0", set("version", 0), nil},
		{"version negative", set("version", -1), nil},
		{"no version", del("version"), nil},
		{"unknown field", set("extra", 1), nil},
		{"bad name", set("name", "../x"), nil},
		{"empty name", set("name", ""), nil},
		{"bad id", set("id", "XYZ"), nil},
		{"short sign key", set("sign_public", "AAAA"), nil},
		{"short enc key", set("enc_public", "AAAA"), nil},
		{"invalid enc key", set("enc_public", strictB64.EncodeToString(bytes.Repeat([]byte{0xff}, EncPublicKeySize))), nil},
		{"base64 missing padding", set("sign_public", strictB64.EncodeToString(make([]byte, 32))[:43]), nil},
		{"base64 padding bits", set("sign_public", strictB64.EncodeToString(make([]byte, 32))[:42]+"B="), nil},
		{"base64 line break", set("nonce", "AAAAAAAA\nAAAAAAAA"), nil},
		{"number as key", set("nonce", 5), nil},
		{"short nonce", set("nonce", "AAAA"), nil},
		{"short ciphertext", set("ciphertext", "AAAA"), nil},
		{"no ciphertext", del("ciphertext"), nil},
		{"no kdf", del("kdf"), nil},
		{"kdf alg", kdf("alg", "scrypt"), nil},
		{"short salt", kdf("salt", "AAAA"), nil},
		{"memory over 4 GiB", kdf("memory_kib", 4*1024*1024+1), ErrBadKDFParams},
		{"memory overflows uint32", kdf("memory_kib", 1<<32), nil},
		{"time over 100", kdf("time", 101), ErrBadKDFParams},
		{"time 0", kdf("time", 0), ErrBadKDFParams},
		{"threads 0", kdf("threads", 0), ErrBadKDFParams},
		{"threads 256", kdf("threads", 256), nil},
		{"memory tiny", kdf("memory_kib", 8), ErrBadKDFParams},
	}
	for _, c := range cases {
		bad := setJSON(t, data, c.edit)
		_, err := Decrypt(bad, testPass)
		if !errors.Is(err, ErrMalformed) || (c.also != nil && !errors.Is(err, c.also)) {
			t.Errorf("%s: Decrypt got %v, want ErrMalformed", c.name, err)
		}
		if _, err := PublicInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: PublicInfo got %v, want ErrMalformed", c.name, err)
		}
	}

	for _, bad := range [][]byte{nil, []byte(""), []byte("null"), []byte("{}"), []byte("[]"), []byte(`"x"`),
		append(bytes.Clone(data), []byte("{}")...), append(bytes.Clone(data), 'x'),
		bytes.Repeat([]byte(" "), MaxFileSize+1)} {
		if _, err := Decrypt(bad, testPass); !errors.Is(err, ErrMalformed) {
			t.Errorf("%.20q: got %v, want ErrMalformed", bad, err)
		}
	}
	// Trailing whitespace is harmless.
	if _, err := Decrypt(append(bytes.Clone(data), " \n"...), testPass); err != nil {
		t.Errorf("trailing whitespace: %v", err)
	}
}

func TestDecryptTruncated(t *testing.T) {
	data, err := Encrypt(fullKeystore(t), testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) - 1 { // the last byte is a newline
		if _, err := Decrypt(data[:n], testPass); err == nil {
			t.Fatalf("truncated to %d bytes decrypted", n)
		}
		if _, err := PublicInfo(data[:n]); err == nil {
			t.Fatalf("truncated to %d bytes gave public info", n)
		}
	}
}

// TestDecryptSwappedFields moves public fields between two keystores sealed
// under the same passphrase; each swap must break the seal.
func TestDecryptSwappedFields(t *testing.T) {
	a, err := Encrypt(fullKeystore(t), testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	ksB := fullKeystore(t)
	ksB.Name = "registrar"
	b, err := Encrypt(ksB, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	var mb map[string]any
	if err := json.Unmarshal(b, &mb); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "id", "sign_public", "enc_public", "nonce", "ciphertext"} {
		bad := setJSON(t, a, func(m map[string]any) { m[k] = mb[k] })
		if _, err := Decrypt(bad, testPass); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("swapped %s: got %v, want ErrWrongPassphrase", k, err)
		}
	}
	// Raising the KDF cost in place changes the derived key.
	for k, v := range map[string]any{"time": 2, "memory_kib": 8193, "threads": 2} {
		bad := setJSON(t, a, func(m map[string]any) { m["kdf"].(map[string]any)[k] = v })
		if _, err := Decrypt(bad, testPass); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("changed kdf %s: got %v, want ErrWrongPassphrase", k, err)
		}
	}
}

// valueSpan returns the byte range of a string value "key": "..." in the
// indented file.
func valueSpan(t testing.TB, data []byte, key string) (int, int) {
	t.Helper()
	marker := []byte(`"` + key + `": "`)
	i := bytes.Index(data, marker)
	if i < 0 || bytes.Count(data, marker) != 1 {
		t.Fatalf("field %q not found once", key)
	}
	start := i + len(marker)
	end := start + bytes.IndexByte(data[start:], '"')
	return start, end
}

// boundMaterial is everything the seal depends on besides the passphrase.
func boundMaterial(f *fileV1) []byte {
	b := f.aad()
	b = appendField(b, f.Nonce)
	return appendField(b, f.Ciphertext)
}

var allFlips = flag.Bool("allflips", false, "run every parseable byte flip through Decrypt (slow: one Argon2id run each)")

// TestDecryptByteFlips flips every bit of every byte of the ciphertext,
// nonce, salt, id and public key values. Every flip must fail. Flips that no
// longer parse go through Decrypt directly. Flips that still parse are shown
// to change what the seal covers, and the first such flip at each position
// is run through Decrypt end to end (every position of the short fields, a
// stride across ciphertext and the 1624-character enc_public, to keep the
// Argon2id runs few). -allflips runs every parseable flip end to end.
func TestDecryptByteFlips(t *testing.T) {
	data, err := Encrypt(fullKeystore(t), testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := parseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	want := boundMaterial(orig)

	type job struct {
		desc string
		data []byte
	}
	var full []job
	fields := []struct {
		key    string
		stride int
	}{{"ciphertext", 3}, {"nonce", 1}, {"salt", 1}, {"id", 1}, {"sign_public", 1}, {"enc_public", 16}}
	for _, fd := range fields {
		start, end := valueSpan(t, data, fd.key)
		for i := start; i < end; i++ {
			queued := false
			for bit := range 8 {
				bad := bytes.Clone(data)
				bad[i] ^= 1 << bit
				desc := fmt.Sprintf("%s[%d] ^ 0x%02x", fd.key, i-start, 1<<bit)
				f, err := parseFile(bad)
				if err != nil {
					if _, err := Decrypt(bad, testPass); err == nil {
						t.Fatalf("%s: Decrypt succeeded", desc)
					}
					continue
				}
				if bytes.Equal(boundMaterial(f), want) {
					t.Fatalf("%s: parsed to the same sealed material", desc)
				}
				if *allFlips || !queued && (i-start)%fd.stride == 0 {
					full = append(full, job{desc, bad})
					queued = true
				}
			}
		}
	}
	t.Logf("%d flips run through Decrypt with Argon2id", len(full))

	var wg sync.WaitGroup
	jobs := make(chan job)
	for range 2 {
		wg.Go(func() {
			for j := range jobs {
				if _, err := Decrypt(j.data, testPass); !errors.Is(err, ErrWrongPassphrase) {
					t.Errorf("%s: got %v, want ErrWrongPassphrase", j.desc, err)
				}
			}
		})
	}
	for _, j := range full {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
}

func TestPublicInfo(t *testing.T) {
	ks := fullKeystore(t)
	data, err := Encrypt(ks, testPass, TestKDF)
	if err != nil {
		t.Fatal(err)
	}
	info, err := PublicInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != ks.Name || info.ID != ks.ID ||
		!bytes.Equal(info.SignPublic, ks.Keys.SignPublic()) || !bytes.Equal(info.EncPublic, ks.Keys.EncPublic()) {
		t.Errorf("PublicInfo = %+v", info)
	}
	// The id stays the first key's after rotation, while the public keys
	// follow the current pair.
	if info.ID == IDFromSignKey(info.SignPublic) {
		t.Error("rotated keystore reports id of the current key")
	}
}
