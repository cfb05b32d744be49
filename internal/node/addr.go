package node

import "strings"

// hostPort accepts both "host:port" and CometBFT's "tcp://host:port", the form its users
// type, and returns the bare host:port the node's listeners take.
func hostPort(addr string) string { return strings.TrimPrefix(addr, "tcp://") }
