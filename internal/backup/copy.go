package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Progress is told the bytes copied so far and the bytes expected in all; the total is an
// estimate while CometBFT's databases are rewritten.
type Progress func(done, total int64)

// meter counts copied bytes and reports them every step bytes and at each file's end.
type meter struct {
	mu          sync.Mutex
	done, total int64
	last        int64
	report      Progress
}

const reportStep = 8 << 20

func (m *meter) add(n int64, flush bool) {
	if m == nil || m.report == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	if m.done > m.total {
		m.total = m.done
	}
	if flush || m.done-m.last >= reportStep {
		m.last = m.done
		m.report(m.done, m.total)
	}
}

type meterWriter struct{ m *meter }

func (w meterWriter) Write(p []byte) (int, error) {
	w.m.add(int64(len(p)), false)
	return len(p), nil
}

// copyFile copies src to dst (created, mode 0600, synced) and returns the size and SHA-256
// of the bytes it copied. A file still growing (the sign-in log) is copied as far as it got.
func copyFile(src, dst string, m *meter) (int64, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, "", err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h, meterWriter{m}), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	m.add(0, true)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// hashFile returns a file's size and SHA-256.
func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func writeSynced(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// treeSize is the bytes of the regular files under dir (0 if it does not exist).
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
