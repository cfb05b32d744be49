package netlimit

import (
	"net/http"
	"time"
)

// Timeouts bound how long a connection may take over each part of its life.
type Timeouts struct {
	Header         time.Duration // to send a request's headers (also the wait for the first request)
	Read           time.Duration // to send a whole request, body included
	Write          time.Duration // to take a whole response
	Idle           time.Duration // kept open between requests
	MaxHeaderBytes int
}

// Apply sets the timeouts on srv.
func (t Timeouts) Apply(srv *http.Server) {
	srv.ReadHeaderTimeout = t.Header
	srv.ReadTimeout = t.Read
	srv.WriteTimeout = t.Write
	srv.IdleTimeout = t.Idle
	srv.MaxHeaderBytes = t.MaxHeaderBytes
}
