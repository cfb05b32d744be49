package testnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/node"
)

// Files in each node home.
const (
	pidFile = "node.pid"
	logFile = "node.log"
)

// LogPath is node i's log file.
func (m *Manifest) LogPath(dir string, i int) string { return filepath.Join(m.HomeOf(dir, i), logFile) }

// Running reports whether a node holds home's lock, i.e. a node process serves it. The
// lock dies with its process, so a killed node never looks alive.
func Running(home string) bool {
	release, err := node.LockHome(home)
	if err != nil {
		return true
	}
	release()
	return false
}

// pidOf reads a home's recorded pid, or, for a node started by hand, the pid the running
// node wrote into its lock file (0 if none).
func pidOf(home string) int {
	b, err := os.ReadFile(filepath.Join(home, pidFile))
	if err != nil && Running(home) {
		b, err = os.ReadFile(node.Paths{Home: home}.Lock())
	}
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Start launches the given nodes (all when which is empty) as separate processes of binary,
// each in its own session so it outlives the caller, with output appended to HOME/node.log
// and its pid in HOME/node.pid. A node already running is left alone.
func Start(dir, binary string, which []int) ([]int, error) { return start(dir, binary, which, false) }

// StartAttached is Start for tests: the nodes get SIGKILL when the calling process dies, so
// a test binary killed by its timeout leaves no node running.
func StartAttached(dir, binary string, which []int) ([]int, error) {
	return start(dir, binary, which, true)
}

func start(dir, binary string, which []int, attached bool) ([]int, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if which, err = m.pick(which); err != nil {
		return nil, err
	}
	var pids []int
	for _, i := range which {
		home := m.HomeOf(dir, i)
		if Running(home) {
			pids = append(pids, pidOf(home))
			continue
		}
		lf, err := os.OpenFile(m.LogPath(dir, i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return pids, err
		}
		cmd := exec.Command(binary, "start", "--home", home)
		cmd.Stdout, cmd.Stderr = lf, lf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if attached {
			cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
		}
		err = cmd.Start()
		lf.Close()
		if err != nil {
			return pids, fmt.Errorf("start %s: %w", m.Nodes[i].Name, err)
		}
		pid := cmd.Process.Pid
		go cmd.Wait() // reap it if it exits while this process still runs
		if err := os.WriteFile(filepath.Join(home, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
			return pids, err
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// Stop signals the given nodes (all when which is empty): SIGTERM and a clean stop within
// grace, else SIGKILL. With kill set it sends SIGKILL at once (a crash, for fault tests).
func Stop(dir string, which []int, kill bool, grace time.Duration) error {
	m, err := Load(dir)
	if err != nil {
		return err
	}
	if which, err = m.pick(which); err != nil {
		return err
	}
	var errs []error
	for _, i := range which {
		home := m.HomeOf(dir, i)
		pid := pidOf(home)
		if pid == 0 || !ours(pid, home) {
			os.Remove(filepath.Join(home, pidFile))
			continue
		}
		sig := syscall.SIGTERM
		if kill {
			sig = syscall.SIGKILL
		}
		syscall.Kill(pid, sig)
		if !waitGone(pid, home, grace) {
			syscall.Kill(pid, syscall.SIGKILL)
			if !waitGone(pid, home, 5*time.Second) {
				errs = append(errs, fmt.Errorf("%s (pid %d) did not exit", m.Nodes[i].Name, pid))
				continue
			}
		}
		os.Remove(filepath.Join(home, pidFile))
	}
	return errors.Join(errs...)
}

// ours checks that pid is still an ehrchain process serving home, so a recycled pid is never
// signalled.
func ours(pid int, home string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	same := func(arg string) bool {
		if !filepath.IsAbs(arg) {
			arg = filepath.Join(cwd, arg)
		}
		return filepath.Clean(arg) == filepath.Clean(home)
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	for k, a := range args {
		if (a == "--home" && k+1 < len(args) && same(args[k+1])) || (strings.HasPrefix(a, "--home=") && same(a[len("--home="):])) {
			return true
		}
	}
	return false
}

// waitGone waits until pid has exited (or is a zombie) and home's lock is free.
func waitGone(pid int, home string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) && !Running(home) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Field 3 is the state; Z is an exited process its parent has not reaped yet.
	if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

func (m *Manifest) pick(which []int) ([]int, error) {
	if len(which) == 0 {
		for i := range m.Nodes {
			which = append(which, i)
		}
		return which, nil
	}
	for _, i := range which {
		if i < 0 || i >= len(m.Nodes) {
			return nil, fmt.Errorf("no node %d: the testnet has nodes 0 to %d", i, len(m.Nodes)-1)
		}
	}
	return which, nil
}

// NodeStatus is one line of `testnet status`.
type NodeStatus struct {
	Name        string `json:"name"`
	Institution string `json:"institution"`
	PID         int    `json:"pid,omitempty"`
	Running     bool   `json:"running"`
	API         string `json:"api"`
	Height      int64  `json:"height,omitempty"`
	AppHash     string `json:"app_hash,omitempty"`
	CatchingUp  bool   `json:"catching_up,omitempty"`
	Power       int64  `json:"power"` // in the node's own view of the current validator set
	Error       string `json:"error,omitempty"`
}

// Status asks every node for its height, app hash and the validator set it sees.
func Status(ctx context.Context, dir string) ([]NodeStatus, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, len(m.Nodes))
	for i, nd := range m.Nodes {
		home := m.HomeOf(dir, i)
		s := NodeStatus{Name: nd.Name, Institution: nd.Institution, API: nd.API, Running: Running(home)}
		if s.Running {
			s.PID = pidOf(home)
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := client.New(nd.API).Status(c)
			cancel()
			if err != nil {
				s.Error = err.Error()
			} else {
				s.Height, s.AppHash, s.CatchingUp = st.Height, st.AppHash, st.CatchingUp
				for _, v := range st.Validators {
					if v.Address == nd.Validator {
						s.Power = v.Power
					}
				}
			}
		}
		out[i] = s
	}
	return out, nil
}
