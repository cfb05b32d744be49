package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/node"
)

// listenAPI opens the listener the API, FHIR gateway and portal share, capped so that no
// number of clients can take the descriptors consensus and the databases need.
func listenAPI(c node.Config, fileLimit uint64) (*netlimit.Listener, error) {
	total, err := netlimit.ConnCap(fileLimit, c.MaxConns)
	if err != nil {
		return nil, err
	}
	if total < c.MaxConns {
		fmt.Fprintf(os.Stderr, "open-files limit %d: HTTP connections capped at %d instead of max_conns %d\n", fileLimit, total, c.MaxConns)
	}
	l, err := net.Listen("tcp", c.API)
	if err != nil {
		return nil, fmt.Errorf("API listen on %s: %w", c.API, err)
	}
	nl, err := netlimit.New(l, netlimit.Config{MaxConns: total, MaxPerClient: c.MaxConnsPerClient, Body: refusalBody})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%w (max_conns and max_conns_per_client in config/ehrchain.json)", err)
	}
	return nl, nil
}

// refusalBody is a refused connection's answer, in the API's error form.
func refusalBody(status int) (string, []byte) {
	msg := "this node holds as many connections as it serves; retry shortly"
	if status == http.StatusTooManyRequests {
		msg = "too many connections from your address; close idle ones or retry shortly"
	}
	b, _ := json.Marshal(api.Space.Err(api.CodeBusy, "%s", msg))
	return "application/json", b
}
