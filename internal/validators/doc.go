// Package validators keeps the set of institutions that run a validator. The registrar adds,
// re-weights or removes a validator by transaction (body types 30-31); each entry names the
// institution that operates it. The set lives in the state map, so it is covered by the app
// hash, and the application turns the block's net changes into CometBFT validator updates.
package validators
