// Package portal is the web portal the node serves under /portal/: pages for patients,
// providers and auditors, with sign-in by keystore passphrase plus a second factor (TOTP or a
// WebAuthn passkey).
//
// The portal is a client of the node like the CLI: it unlocks the signed-in person's
// keystore from the node's keys directory, keeps it in memory for that session only, and signs,
// encrypts and decrypts with it through internal/client, against the node's own API handler
// in-process. Every read it makes is an audited read on the ledger. Templates, styles and the
// one script are embedded: the portal needs no network beyond the browser's connection to it.
package portal
