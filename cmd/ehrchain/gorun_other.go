//go:build !linux

package main

// stopWithGoRun needs Linux's parent-death signal; elsewhere stop the demo with Ctrl-C.
func stopWithGoRun() {}
