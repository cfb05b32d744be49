// Package testnet lays out and runs a network of ehrchain nodes on one machine: N node homes
// on loopback with distinct ports, one shared genesis (a registrar and N validators, each run
// by an institution), persistent peers and blob sources, and the nodes as separate processes
// of the real ehrchain binary with logs in files and pids recorded. It is how a person tries
// fault tolerance by hand and how the network tests run.
package testnet
