//go:build unix

package interchain_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process used so far (user and system, all threads, GC
// included): on a shared machine it measures the work, where wall time measures the queue.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
