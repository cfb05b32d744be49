package trials

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// The sponsor of a trial is a provider (the sponsor-investigator of 21 CFR 312.3), its
// IRB an auditor it names at registration, its investigators providers named at its sites.
const sponsorRole = identity.Provider

// ExecRegister stores version 1 of a new trial's protocol, signed by its author.
func ExecRegister(st Store, env identity.Env, signer string, b *RegisterBody) *tx.Error {
	if err := requireRole(env, signer, sponsorRole, "sponsors a trial"); err != nil {
		return err
	}
	if !idRe.MatchString(b.Trial) {
		return Space.Err(CodeInvalid, "trial id %q: use 1-64 letters, digits, '.', '_' or '-'", b.Trial)
	}
	if Get(st, b.Trial) != nil {
		return Space.Err(CodeDuplicate, "trial %s is already registered; change it with an amendment", b.Trial)
	}
	if err := checkProtocol(st, &b.Protocol); err != nil {
		return err
	}
	if err := activeAs(st, b.IRB, identity.Auditor, "the IRB"); err != nil {
		return err
	}
	sig, err := sign(env, signer, b.Sign, "a registration", Author)
	if err != nil {
		return err
	}
	v := Version{Number: 1, Protocol: b.Protocol, Signature: sig}
	t := Trial{ID: b.Trial, Sponsor: signer, IRB: b.IRB, Head: 1, PrimaryCompletion: b.Protocol.PrimaryCompletion,
		RegisteredAt: env.Height, RegisteredTime: env.Time.UTC()}
	save(st, versionKey(t.ID, 1), &v)
	save(st, trialKey(t.ID), &t)
	ev := event(env, signer, ActionRegister, t.ID)
	ev.Version, ev.Digest, ev.Reason = 1, b.Protocol.Digest, b.Sign.Reason
	st.Append(ev.Encode())
	return nil
}

// checkProtocol validates a protocol and that each site's investigator is an active provider.
func checkProtocol(r Reader, p *Protocol) *tx.Error {
	if err := p.validate(); err != nil {
		return err
	}
	for _, s := range p.Sites {
		if err := activeAs(r, s.Investigator, identity.Provider, fmt.Sprintf("site %q investigator", s.Name)); err != nil {
			return err
		}
	}
	return nil
}

// StudyDigest is the SHA-256 of the stored ResearchStudy document, hex.
func StudyDigest(p *Protocol) string {
	d := sha256.Sum256(p.ResearchStudy)
	return hex.EncodeToString(d[:])
}
