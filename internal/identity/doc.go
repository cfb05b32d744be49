// Package identity holds the actors of the ledger: who they are, their role, their current
// public keys, and whether they may still act. It owns the registration, deactivation and
// key-rotation transactions and the rules for who may perform them:
//
//   - the registrar (created at genesis) registers providers, auditors, insurers and other
//     registrars, and may deactivate or re-key any identity but itself;
//   - a patient registers themself, or a provider registers them with the patient's key,
//     proven by the patient's signature over the registration (proof of possession);
//   - an identity may deactivate itself and rotate its own keys with its current key.
package identity
