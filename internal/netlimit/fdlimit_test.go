package netlimit

import (
	"strings"
	"syscall"
	"testing"
)

func TestConnCapLeavesHeadroom(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
		got   int
	}{
		{1 << 20, 4096, 4096},
		{4096, 4096, 4096 - Headroom},
		{Headroom + minConns, 4096, minConns},
	} {
		got, err := ConnCap(c.limit, c.want)
		if err != nil || got != c.got {
			t.Errorf("ConnCap(%d, %d) = %d, %v; want %d", c.limit, c.want, got, err, c.got)
		}
	}
	if _, err := ConnCap(256, 4096); err == nil || !strings.Contains(err.Error(), "ulimit -n") {
		t.Errorf("a 256-file limit was accepted or not explained: %v", err)
	}
}

func TestRaiseFileLimitReachesHard(t *testing.T) {
	got, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var r rlimit
	getrlimit(&r)
	if got != r.Max || r.Cur != r.Max {
		t.Errorf("limit %d after raising, soft %d hard %d", got, r.Cur, r.Max)
	}
}

type rlimit = syscall.Rlimit

func getrlimit(r *rlimit) { syscall.Getrlimit(syscall.RLIMIT_NOFILE, r) }
