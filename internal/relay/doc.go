// Package relay carries one CometBFT chain's signed headers to another chain's light client
// of it (internal/interchain): it reads how far the client has verified, fetches the
// counterparty's light block from its node's API, and submits it as an update signed by the
// relayer's own identity. The relayer is trusted with nothing: the receiving chain verifies
// every header itself, so a wrong or withheld header costs only time (see docs/SCALING.md,
// "Trust model"). When a header is too far from the trusted one for the trusted validators
// to vouch for it (CometBFT's trust level, 1/3 of their power), the relayer bisects as
// CometBFT's light client does: it relays the header half-way first, and tries again from
// there. A source serving another block at a height the client verified, signed well
// enough that the receiving chain would accept it, is a fork of the counterparty: the
// relayer reports both headers as misbehaviour, which freezes the client, and stops (see
// Reported); witnesses, other nodes of the counterparty, cross-check each header.
package relay
