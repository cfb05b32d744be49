// Package node lays out a node's home directory and runs CometBFT with the ehrchain
// application in one process, together with the HTTP API.
//
// A home directory holds:
//
//	config/ehrchain.json      chain id and listen addresses (flags override them)
//	config/genesis.json       CometBFT genesis, with the registrars in app_state
//	config/node_key.json      p2p identity
//	config/priv_validator_key.json
//	data/                     CometBFT block store and consensus state
//	data/priv_validator_state.json
//	app/state.db              application state (pebble)
//	keys/                     passphrase-encrypted keystores of local identities
//	ehrchain.lock             held while a node runs, so a second start refuses
package node
