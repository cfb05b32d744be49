// Package wire holds the bodies the HTTP API and its clients exchange: request and response
// types, the coded error bodies, a transaction's result and a node's status. Both sides
// import it, and it imports only the domain vocabularies its bodies embed (identity, consent,
// records, claims, emergency, audit, validators), none of which carries a consensus engine or
// a state store, so a program that only talks HTTP compiles without either. A test holds it
// to that.
package wire
