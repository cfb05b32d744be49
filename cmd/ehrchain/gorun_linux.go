package main

import (
	"os"
	"strings"
	"syscall"
)

// stopWithGoRun makes a binary started by `go run` stop when the go command does: `kill`
// of a backgrounded `go run ./cmd/ehrchain demo` signals the go command only, which then
// exits and would leave the node serving. The kernel sends this process SIGTERM when its
// parent dies, which stops the node cleanly.
func stopWithGoRun() {
	if !strings.Contains(os.Args[0], "go-build") {
		return
	}
	syscall.Syscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
}
