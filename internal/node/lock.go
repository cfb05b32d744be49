package node

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// lockHome takes an exclusive lock on the home directory, so two nodes never share a state
// database. The lock dies with the process, so a kill -9 never leaves a stale lock.
func lockHome(p Paths) (release func(), err error) {
	f, err := os.OpenFile(p.Lock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p.Lock())
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "another process"
		} else {
			holder = "process " + holder
		}
		return nil, fmt.Errorf("%s is already in use by a running node (%s holds %s); stop it first or use another --home", p.Home, holder, p.Lock())
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
