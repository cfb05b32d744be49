// Package netlimit bounds what HTTP clients can hold open on a node: a listener that caps
// connections in total and per client address, and the http.Server timeouts that close
// connections a client leaves idle or fills slowly.
//
// A node that runs out of file descriptors fails in consensus, not in the API: CometBFT
// cannot open a database file or accept a peer and halts. So the cap is sized below the
// process's descriptor limit, and a client over it is answered at once (429 over its own
// cap, 503 over the total) and closed, never accepted to hang. When the total is reached,
// the connection idle the longest (keep-alive, or opened and never used) is closed to make
// room, so idle connections cannot keep a real request out; only when every connection is
// busy does a newcomer get 503.
//
// Rate bounds how often one client may call an endpoint that is open to anyone (the public
// verification of a drug pack): per client address, with the clock the caller gives it.
package netlimit
