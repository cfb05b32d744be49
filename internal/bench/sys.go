package bench

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes where a report was measured.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

func thisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUModel: cpuModel(),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// resetPeakRSS asks Linux to restart the VmHWM high-water mark from the current RSS, so each
// workload reports its own peak. It reports whether the kernel allowed it; if not, peaks are
// cumulative since the process started.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is VmHWM from /proc/self/status in bytes (0 where unavailable).
func peakRSS() int64 { return procStatus("VmHWM:") }

// currentRSS is VmRSS, the resident set now.
func currentRSS() int64 { return procStatus("VmRSS:") }

// procStatus reads one kB field of /proc/self/status in bytes.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(field))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 2 && f[1] == "kB" {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n << 10
		}
	}
	return 0
}

// cpuTime is the user plus system CPU time of the whole process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dirSize is the bytes of the regular files under dir (0 if it cannot be read), a file
// linked in several places counted once.
func dirSize(dir string) int64 {
	var n int64
	for _, b := range diskParts(dir) {
		n += b
	}
	return n
}

// diskParts is the bytes of the regular files under home by part: each directory directly
// under app/ and data/ (the state database, snapshots, blobs, block store, consensus WAL,
// ...), and "other" for the rest (config, keys, logs). Where pruning does or does not save
// disk shows here. A file linked in several places (a snapshot's checkpoint shares the
// state database's tables) is counted once, in the part that is not the snapshots.
func diskParts(home string) map[string]int64 {
	out := map[string]int64{}
	counted := map[[2]uint64]string{} // linked files: the part each is counted in
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(home, path)
		part := "other"
		if p := strings.Split(filepath.ToSlash(rel), "/"); len(p) > 2 && (p[0] == "app" || p[0] == "data") {
			part = p[0] + "/" + p[1]
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			id := [2]uint64{uint64(st.Dev), st.Ino}
			if prev, ok := counted[id]; ok {
				if prev == snapshotsPart && part != snapshotsPart {
					out[prev] -= info.Size()
					out[part] += info.Size()
					counted[id] = part
				}
				return nil
			}
			counted[id] = part
		}
		out[part] += info.Size()
		return nil
	})
	return out
}

const snapshotsPart = "app/snapshots"

// liveHeap is the heap the last garbage collection marked live, in bytes.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
