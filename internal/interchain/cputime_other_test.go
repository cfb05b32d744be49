//go:build !unix

package interchain_test

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
