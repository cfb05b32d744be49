package netlimit

import (
	"fmt"
	"syscall"
)

// Headroom is the file descriptors kept out of the HTTP servers' reach, for consensus, p2p
// peers, the databases' open tables and the write-ahead log. Running out of them makes
// CometBFT fail consensus and exit, so HTTP clients must never be able to take them.
const Headroom = 1024

// minConns is the smallest connection cap worth serving with.
const minConns = 32

// RaiseFileLimit raises the process's soft limit on open files to its hard limit (the
// default soft limit, often 1,024, is far below what a node serving clients needs) and
// returns the limit now in force.
func RaiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, fmt.Errorf("reading the open-files limit: %w", err)
	}
	if r.Cur < r.Max {
		want := r
		want.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			r = want
		}
	}
	return r.Cur, nil
}

// ConnCap is the total connection cap to use under a file limit: the cap asked for, or less
// if the limit would not leave Headroom descriptors beside it. It fails when the limit is
// too low to serve at all, saying how to raise it.
func ConnCap(fileLimit uint64, want int) (int, error) {
	if fileLimit < Headroom+minConns {
		return 0, fmt.Errorf("the open-files limit is %d; a node needs at least %d (raise it with `ulimit -n` or LimitNOFILE= in the service unit)", fileLimit, Headroom+minConns)
	}
	if room := fileLimit - Headroom; uint64(want) > room {
		return int(room), nil
	}
	return want, nil
}
