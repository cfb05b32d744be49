package app

import (
	"crypto/ed25519"

	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/erasure"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/trials"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/validators"
)

// route connects a body type to its decoder and its handler.
type route struct {
	name   string
	decode func([]byte) (any, error)
	exec   func(st *state.Tx, env identity.Env, signer string, body any) *tx.Error
	// unsigned routes carry their own signatures inside the body; the envelope's signer,
	// sequence and signature must be zero.
	unsigned bool
	// ahead, if set, lists the index lookups exec will make, to be made ahead of the block
	// (state.ReadAhead), in parts that may run on different cores.
	ahead func(body any) []func(*state.AheadReader)
}

// readingAhead is rt with the lookups of ahead made before its block runs.
func readingAhead[B any](rt route, ahead func(*state.AheadReader, B)) route {
	rt.ahead = func(body any) []func(*state.AheadReader) {
		return []func(*state.AheadReader){func(r *state.AheadReader) { ahead(r, body.(B)) }}
	}
	return rt
}

func wrap[B any](name string, dec func([]byte) (B, error), exec func(*state.Tx, identity.Env, string, B) *tx.Error) route {
	return route{
		name:   name,
		decode: func(b []byte) (any, error) { return dec(b) },
		exec: func(st *state.Tx, env identity.Env, signer string, body any) *tx.Error {
			return exec(st, env, signer, body.(B))
		},
	}
}

var routes = map[tx.Type]route{
	TypeNoop: wrap("noop", decodeNoop, func(st *state.Tx, _ identity.Env, _ string, _ *Noop) *tx.Error { return checkNoop(st) }),
	identity.TypeRegister: wrap("register identity", identity.DecodeRegister,
		func(st *state.Tx, env identity.Env, s string, b *identity.Register) *tx.Error {
			return identity.ExecRegister(st, env, s, b)
		}),
	identity.TypeDeactivate: wrap("deactivate identity", identity.DecodeDeactivate,
		func(st *state.Tx, env identity.Env, s string, b *identity.Deactivate) *tx.Error {
			return identity.ExecDeactivate(st, env, s, b)
		}),
	identity.TypeRotate: wrap("rotate keys", identity.DecodeRotate,
		func(st *state.Tx, env identity.Env, s string, b *identity.Rotate) *tx.Error {
			return identity.ExecRotate(st, env, s, b)
		}),
	consent.TypePublishKeys: wrap("publish category keys", consent.DecodePublishKeys,
		func(st *state.Tx, env identity.Env, s string, b *consent.PublishKeysBody) *tx.Error {
			return consent.ExecPublishKeys(st, env, s, b)
		}),
	consent.TypeGrant: wrap("grant", consent.DecodeGrant,
		func(st *state.Tx, env identity.Env, s string, b *consent.GrantBody) *tx.Error {
			return consent.ExecGrant(st, env, s, b)
		}),
	consent.TypeRevoke: wrap("revoke", consent.DecodeRevoke,
		func(st *state.Tx, env identity.Env, s string, b *consent.RevokeBody) *tx.Error {
			return consent.ExecRevoke(st, env, s, b)
		}),
	records.TypePut: readingAhead(wrap("write record", records.DecodePut,
		func(st *state.Tx, env identity.Env, s string, b *records.PutBody) *tx.Error {
			return records.ExecPut(st, env, s, b)
		}), readAheadPut),
	records.TypePutInline: readingAhead(wrap("write record", records.DecodePutInline,
		func(st *state.Tx, env identity.Env, s string, b *records.PutBody) *tx.Error {
			return records.ExecPut(st, env, s, b)
		}), readAheadPut),
	validators.TypeSet: wrap("set validator", validators.DecodeSet,
		func(st *state.Tx, env identity.Env, s string, b *validators.Set) *tx.Error {
			return validators.ExecSet(st, env, s, b)
		}),
	validators.TypeRemove: wrap("remove validator", validators.DecodeRemove,
		func(st *state.Tx, env identity.Env, s string, b *validators.Remove) *tx.Error {
			return validators.ExecRemove(st, env, s, b)
		}),
	emergency.TypeCustodian: wrap("escrow custodian", emergency.DecodeCustodian,
		func(st *state.Tx, env identity.Env, s string, b *emergency.CustodianBody) *tx.Error {
			return emergency.ExecCustodian(st, env, s, b)
		}),
	emergency.TypeEscrow: wrap("emergency escrow", emergency.DecodeEscrow,
		func(st *state.Tx, env identity.Env, s string, b *emergency.EscrowBody) *tx.Error {
			return emergency.ExecEscrow(st, env, s, b)
		}),
	emergency.TypeOptOut: wrap("emergency opt-out", emergency.DecodeOptOut,
		func(st *state.Tx, env identity.Env, s string, b *emergency.OptOutBody) *tx.Error {
			return emergency.ExecOptOut(st, env, s, b)
		}),
	emergency.TypeDeclare: wrap("emergency declaration", emergency.DecodeDeclare,
		func(st *state.Tx, env identity.Env, s string, b *emergency.DeclareBody) *tx.Error {
			return emergency.ExecDeclare(st, env, s, b)
		}),
	emergency.TypeRelease: wrap("emergency key release", emergency.DecodeRelease,
		func(st *state.Tx, env identity.Env, s string, b *emergency.ReleaseBody) *tx.Error {
			return emergency.ExecRelease(st, env, s, b)
		}),
	emergency.TypeJustify: wrap("emergency justification", emergency.DecodeJustify,
		func(st *state.Tx, env identity.Env, s string, b *emergency.JustifyBody) *tx.Error {
			return emergency.ExecJustify(st, env, s, b)
		}),
	emergency.TypeReview: wrap("emergency review", emergency.DecodeReview,
		func(st *state.Tx, env identity.Env, s string, b *emergency.ReviewBody) *tx.Error {
			return emergency.ExecReview(st, env, s, b)
		}),
	emergency.TypeUrgentPut: wrap("urgent record write", emergency.DecodeUrgentPut,
		func(st *state.Tx, env identity.Env, s string, b *emergency.UrgentPutBody) *tx.Error {
			return emergency.ExecUrgentPut(st, env, s, b)
		}),
	erasure.TypeErase:        wrap("erase records", erasure.DecodeErase, erasureExec(erasure.ExecErase)),
	erasure.TypeHold:         wrap("place legal hold", erasure.DecodeHold, erasureExec(erasure.ExecHold)),
	erasure.TypeLift:         wrap("lift legal hold", erasure.DecodeLift, erasureExec(erasure.ExecLift)),
	erasure.TypeSetRetention: wrap("set retention period", erasure.DecodeSetRetention, erasureExec(erasure.ExecSetRetention)),
	erasure.TypeExpire:       wrap("expire records", erasure.DecodeExpire, erasureExec(erasure.ExecExpire)),
	records.TypeReadBatch: {name: "read batch", unsigned: true,
		decode: func(b []byte) (any, error) { return records.DecodeReadBatch(b) },
		ahead:  readAheadReads},
	claims.TypePublishPlan:   wrap("publish plan", claims.DecodePublishPlan, claimsExec(claims.ExecPublishPlan)),
	claims.TypeEnroll:        wrap("enroll coverage", claims.DecodeEnroll, claimsExec(claims.ExecEnroll)),
	claims.TypeEndCoverage:   wrap("end coverage", claims.DecodeEndCoverage, claimsExec(claims.ExecEndCoverage)),
	claims.TypeSubmitClaim:   wrap("submit claim", claims.DecodeSubmit, claimsExec(claims.ExecSubmit)),
	claims.TypeRequestAuth:   wrap("request prior authorization", claims.DecodeAuthRequest, claimsExec(claims.ExecRequestAuth)),
	claims.TypeDecideAuth:    wrap("decide prior authorization", claims.DecodeAuthDecision, claimsExec(claims.ExecDecideAuth)),
	claims.TypeRecordPayment: wrap("record payment", claims.DecodePayment, claimsExec(claims.ExecPayment)),
	claims.TypeAppeal:        wrap("appeal claim line", claims.DecodeAppeal, claimsExec(claims.ExecAppeal)),
	claims.TypeDecideAppeal:  wrap("decide appeal", claims.DecodeAppealDecision, claimsExec(claims.ExecDecideAppeal)),
	trials.TypeRegister:      wrap("register trial", trials.DecodeRegister, trialsExec(trials.ExecRegister)),
	trials.TypeApprove:       wrap("IRB decision", trials.DecodeApprove, trialsExec(trials.ExecApprove)),
	trials.TypeAmend:         wrap("amend trial protocol", trials.DecodeAmend, trialsExec(trials.ExecAmend)),
	trials.TypeEnrol:         wrap("enrol trial participant", trials.DecodeEnrol, trialsExec(trials.ExecEnrol)),
	trials.TypeResults:       wrap("post trial results", trials.DecodeResults, trialsExec(trials.ExecResults)),
	trials.TypeConsentForm:   wrap("approve trial consent form", trials.DecodeConsentForm, trialsExec(trials.ExecConsentForm)),
	trials.TypeReconsent:     wrap("re-consent to a trial", trials.DecodeReconsent, trialsExec(trials.ExecReconsent)),
	trials.TypeWithdraw:      wrap("withdraw from a trial", trials.DecodeWithdraw, trialsExec(trials.ExecWithdraw)),
	trials.TypeObserve: wrap("record trial observation", trials.DecodeObserve,
		func(st *state.Tx, env identity.Env, s string, b *trials.ObserveBody) *tx.Error {
			return trials.ExecObserve(st, env, s, b)
		}),
	trials.TypeExport: wrap("record trial dataset export", trials.DecodeExport,
		func(st *state.Tx, env identity.Env, s string, b *trials.ExportBody) *tx.Error {
			return trials.ExecExport(st, env, s, b)
		}),
	supply.TypeBind:    wrap("bind trading partner", supply.DecodeBind, supplyExec(supply.ExecBind)),
	supply.TypeCapture: wrap("capture EPCIS events", supply.DecodeCapture, supplyExec(supply.ExecCapture)),
	supply.TypeRelease: wrap("release quarantined items", supply.DecodeRelease, supplyExec(supply.ExecRelease)),

	interchain.TypeCreate:       wrap("create light client", interchain.DecodeCreate, interchainExec(interchain.ExecCreate)),
	interchain.TypeUpdate:       wrap("update light client", interchain.DecodeUpdate, interchainExec(interchain.ExecUpdate)),
	interchain.TypeMisbehaviour: wrap("light client misbehaviour", interchain.DecodeMisbehaviour, interchainExec(interchain.ExecMisbehaviour)),
	crosstx.TypeCite: wrap("cite a supply-chain dispense", crosstx.DecodeCite,
		func(st *state.Tx, env identity.Env, s string, b *crosstx.CiteBody) *tx.Error {
			return interchain.ExecCite(st, env, s, b)
		}),
	crosstx.TypeRecognise: wrap("recognise another shard's provider", crosstx.DecodeRecognise,
		func(st *state.Tx, env identity.Env, s string, b *crosstx.RecogniseBody) *tx.Error {
			return interchain.ExecRecognise(st, env, s, b)
		}),
	crosstx.TypeAdmit: wrap("admit a home of providers", crosstx.DecodeAdmit,
		func(st *state.Tx, env identity.Env, s string, b *crosstx.AdmitBody) *tx.Error {
			return interchain.ExecAdmit(st, env, s, b)
		}),
}

// interchainExec adapts an interchain handler (which takes its own store interface) to a route.
func interchainExec[B any](f func(interchain.Store, identity.Env, string, B) *tx.Error) func(*state.Tx, identity.Env, string, B) *tx.Error {
	return func(st *state.Tx, env identity.Env, s string, b B) *tx.Error { return f(st, env, s, b) }
}

// trialsExec adapts a trials handler (which takes its own store interface) to a route.
func trialsExec[B any](f func(trials.Store, identity.Env, string, B) *tx.Error) func(*state.Tx, identity.Env, string, B) *tx.Error {
	return func(st *state.Tx, env identity.Env, s string, b B) *tx.Error { return f(st, env, s, b) }
}

// supplyExec adapts a supply handler (which takes its own store interface) to a route.
func supplyExec[B any](f func(supply.Store, identity.Env, string, B) *tx.Error) func(*state.Tx, identity.Env, string, B) *tx.Error {
	return func(st *state.Tx, env identity.Env, s string, b B) *tx.Error { return f(st, env, s, b) }
}

// claimsExec adapts a claims handler (which takes its own store interface) to a route.
func claimsExec[B any](f func(claims.Store, identity.Env, string, B) *tx.Error) func(*state.Tx, identity.Env, string, B) *tx.Error {
	return func(st *state.Tx, env identity.Env, s string, b B) *tx.Error { return f(st, env, s, b) }
}

// erasureExec adapts an erasure handler (which takes its own store interface) to a route.
func erasureExec[B any](f func(erasure.Store, identity.Env, string, B) *tx.Error) func(*state.Tx, identity.Env, string, B) *tx.Error {
	return func(st *state.Tx, env identity.Env, s string, b B) *tx.Error { return f(st, env, s, b) }
}

// decoded is a transaction after the stateless checks.
type decoded struct {
	env  *tx.Envelope
	hash [32]byte
	body any
	r    route
	size int // bytes of the wire transaction, charged to the signer's budget
}

func readAheadPut(r *state.AheadReader, b *records.PutBody) { records.ReadAheadPut(r, b) }

// readAheadReads splits a read batch (up to records.MaxBatch requests) into parts.
func readAheadReads(body any) []func(*state.AheadReader) {
	const part = 256
	qs := body.(*records.ReadBatch).Requests
	var fns []func(*state.AheadReader)
	for len(qs) > 0 {
		n := min(part, len(qs))
		chunk := qs[:n]
		fns = append(fns, func(r *state.AheadReader) { records.ReadAheadReads(r, chunk) })
		qs = qs[n:]
	}
	return fns
}

// decodeHashed runs the checks that need no state (size, canonical encoding, chain id,
// body) on raw, whose hash h the caller has (App.hashOf).
func (a *App) decodeHashed(raw []byte, h [32]byte) (*decoded, *tx.Error) {
	env, err := tx.Decode(raw)
	if err != nil {
		return nil, err
	}
	if env.ChainID != a.chainID {
		return nil, tx.Space.Err(tx.CodeWrongChain, "transaction was signed for chain %q, this is %q", env.ChainID, a.chainID)
	}
	r, ok := routes[env.BodyType]
	if !ok {
		return nil, tx.Space.Err(tx.CodeUnknownBody, "transaction body type %d is not known to this node", env.BodyType)
	}
	body, derr := r.decode(env.Body)
	if derr != nil {
		return nil, tx.Space.Err(tx.CodeMalformed, "malformed %s body: %v", r.name, derr)
	}
	if r.unsigned && (env.Signer != [tx.SignerLen]byte{} || env.Sequence != 0 || !allZero(env.Signature)) {
		return nil, tx.Space.Err(tx.CodeMalformed, "a %s is not signed as a whole: its envelope signer, sequence and signature must be zero", r.name)
	}
	return &decoded{env: env, hash: h, body: body, r: r, size: len(raw)}, nil
}

// signerKey finds the key that must have signed d: the registered signer's current key, or
// for a patient's self-registration the key being registered.
func signerKey(r identity.Reader, d *decoded) (*identity.Identity, ed25519.PublicKey, *tx.Error) {
	id := d.env.SignerID()
	signer := identity.Get(r, id)
	if signer == nil {
		if reg, ok := d.body.(*identity.Register); ok && len(reg.SignKey) == ed25519.PublicKeySize && reg.SubjectID() == id {
			return nil, reg.SignKey, nil
		}
		return nil, nil, tx.Space.Err(tx.CodeUnknownSigner, "signer %s is not registered", id)
	}
	if !signer.Active {
		return nil, nil, tx.Space.Err(tx.CodeInactive, "signer %s was deactivated at height %d and can no longer act", id, signer.Deactivated)
	}
	return signer, signer.SignKey, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
