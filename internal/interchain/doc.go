// Package interchain keeps, in this chain's Merkle state, light clients of other CometBFT
// chains (a supply sidechain, another EHR shard) and checks proofs of their state against
// the headers those clients verified.
//
// A client is created by the registrar from a header and validator set it trusts (the
// subjective initialisation every light client needs). After that anyone may relay the
// counterparty's signed headers: each is verified at execution with CometBFT's own light
// verification (light.Verify: adjacent, or skipping with a trust level of 1/3 of the
// trusted validator power), with "now" taken from this chain's block time, so every
// validator reaches the same verdict and a replay gives the same app hash. Two conflicting
// headers at one height, each verified against the trusted state, freeze the client: a
// frozen client refuses updates and proofs until the registrar replaces it.
//
// The verified header of counterparty height H carries the app hash of the state after
// block H-1, so a proof of the counterparty's state at height h is checked against the
// consensus state the client stored for header h+1 (see VerifyState).
//
// Everything here runs inside FinalizeBlock: it reads only the transaction, the block
// time and the state, and holds no wall clock, randomness or map-ordered output.
package interchain
