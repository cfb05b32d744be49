// Package backup writes a node's home directory, taken at one committed height, into a
// backup directory with a manifest of every file's size and SHA-256 digest, and restores
// such a backup into a new home after checking every digest.
//
// A backup holds what a node cannot get back by itself: the application state (a pebble
// checkpoint), CometBFT's block store, consensus state and evidence (copied from read
// snapshots into fresh databases), the blob store, the portal's sign-in factors and log, the
// configuration and the genesis. It leaves out what the node rebuilds or makes afresh (the
// audit query index, the consensus WAL, the address book, the operator token, the lock) and,
// unless asked, the keystores and the validator key.
package backup
