package node

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// hostPort accepts both "host:port" and CometBFT's "tcp://host:port", the form its users
// type, and returns the bare host:port the node's listeners take.
func hostPort(addr string) string { return strings.TrimPrefix(addr, "tcp://") }

// checkListen refuses a listen address the listeners would fail on later, and less
// clearly ("missing port in address" from deep in CometBFT's start): another scheme, no
// port, or a port that is not a number.
func checkListen(name, addr string) error {
	if addr == "" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%s address %q: %s; give host:port or tcp://host:port (for example 127.0.0.1:26657)", name, addr, why)
	}
	if scheme, _, ok := strings.Cut(addr, "://"); ok {
		return bad("scheme " + scheme + ":// is not served")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "address "+addr+": "))
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return bad("port " + strconv.Quote(port) + " is not a number from 0 to 65535")
	}
	return nil
}

// checkListens checks the node's three listen addresses, after hostPort.
func (c Config) checkListens() error {
	for _, a := range []struct{ name, addr string }{{"api", c.API}, {"rpc", c.RPC}, {"p2p", c.P2P}} {
		if err := checkListen(a.name, a.addr); err != nil {
			return err
		}
	}
	return nil
}
