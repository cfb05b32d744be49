package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// inProcessBase is the base URL of an in-process client; no request leaves the process, so
// the name only has to parse.
const inProcessBase = "http://node.internal"

// inProcessAddr is the remote address the API sees on an in-process request.
const inProcessAddr = "in-process:0"

// InProcess is a client whose requests are served by h (the node's API handler) in this
// process, with no socket: the FHIR gateway and the portal talk to the API through it, so
// that every read and transaction of theirs takes the same checked, audited path as a
// remote client's. The API sees each request as coming from inProcessAddr: not loopback,
// because the gateway and the portal act for remote users (operator endpoints, which
// answer only on loopback, must stay out of their reach).
func InProcess(h http.Handler) *Client {
	c := New(inProcessBase)
	c.HTTP = &http.Client{Transport: handlerTransport{h}, Timeout: 2 * time.Minute}
	return c
}

// handlerTransport is an http.RoundTripper that serves each request with a handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the request; the server-side fields go on a copy.
	sr := req.Clone(req.Context())
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = inProcessAddr
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	t.h.ServeHTTP(rec, sr)
	return &http.Response{StatusCode: rec.code, Status: fmt.Sprintf("%d %s", rec.code, http.StatusText(rec.code)),
		Header: rec.header, Body: io.NopCloser(&rec.buf), ContentLength: int64(rec.buf.Len()), Request: req,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// recorder is the http.ResponseWriter a handler writes an in-process answer to. The first
// status written wins, as on a real connection.
type recorder struct {
	header http.Header
	code   int
	wrote  bool
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) { r.wrote = true; return r.buf.Write(b) }
