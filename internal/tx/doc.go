// Package tx defines the signed transaction envelope every ehrchain state change travels in,
// its canonical binary encoding, and the coded errors a rejected transaction carries.
//
// The envelope is versioned and binds the signer, the chain id and a per-account sequence
// number (replay protection) to a typed body. The signature covers a domain-separated,
// canonical encoding: a decoder accepts exactly one byte string per envelope, so two nodes can
// never disagree on what was signed.
package tx
