// Package api serves the node's HTTP JSON API: submit signed transactions (and wait for
// their commit), read identities with Merkle proofs, node status. Every error is JSON
// {code, codespace, message} with an HTTP status that says what kind of failure it is.
// Later the FHIR R4 gateway and the portal mount on the same server.
package api
