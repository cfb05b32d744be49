package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoStopsWithGoRun: `kill` of a backgrounded `go run ./cmd/ehrchain demo` reaches the
// go command only. The demo, built where go run builds (a go-build directory), is started by
// a shell standing in for the go command; when that shell is killed, the demo is told
// (SIGTERM, from the kernel: nobody else signals it) and stops cleanly.
func TestDemoStopsWithGoRun(t *testing.T) {
	tmp := t.TempDir()
	exe := filepath.Join(tmp, "go-build1", "b001", "exe", "ehrchain")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, src, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(tmp, "demo.log")
	goCmd := exec.Command("sh", "-c", `"$0" demo --dir "$1" --api "$2" --data "$1/no-data" >"$3" 2>&1 & echo $!; wait`,
		exe, filepath.Join(tmp, "demo"), freePort(t), logPath)
	goCmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE=")
	stdout, err := goCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := goCmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	demoLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(demoLog(), what); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the demo (pid %s) did not print %q:\n%s", strings.TrimSpace(pid), what, demoLog())
			}
		}
	}
	t.Cleanup(func() {
		if !strings.Contains(demoLog(), "stopped cleanly") {
			exec.Command("kill", "-KILL", strings.TrimSpace(pid)).Run()
		}
	})
	waitFor("The node keeps serving")
	goCmd.Process.Kill()
	io.Copy(io.Discard, stdout)
	goCmd.Wait()
	waitFor("received terminated, stopping")
	waitFor("stopped cleanly")
}
