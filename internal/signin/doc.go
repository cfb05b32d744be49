// Package signin is the node's one sign-in policy for persons, shared by the web portal and
// the FHIR gateway's person login: who may sign in where (Decide, a pure function of facts),
// the second factors enrolled on this node (Store, with TOTP checks), the failure runs that
// lock an identity or a client address (persisted with the factors, so a lockout outlives a
// restart), and the hash-chained sign-in log every attempt is written to. All of it is this
// node's state in HOME/portal, outside consensus. Service holds the open store and log; a
// node opens one and passes it to both entry points.
package signin
