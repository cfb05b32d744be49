package records

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/access"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TypeReadBatch carries signed read requests into a block. Its envelope is not signed:
// every request inside is, by its requester.
const TypeReadBatch tx.Type = 11

// MaxRequestAge bounds how far ahead a read request may expire, which bounds how long the
// node must remember it to refuse a replay.
const MaxRequestAge = 10 * time.Minute

// MaxBatch bounds the requests in one batch.
const MaxBatch = 10_000

const readDomain = "ehrchain/read/v1"

// ReadRequest asks for one record (Record set) or the list of a patient's records (Record
// empty), for a purpose. The requester signs it; the node cannot forge or alter one.
type ReadRequest struct {
	ChainID   string
	Requester string
	Patient   string
	Record    string
	Purpose   string
	Nonce     [16]byte
	NotAfter  int64 // unix seconds; the request is void after this block time
	Signature []byte
}

func (q *ReadRequest) encodeUnsigned(w *tx.Writer) {
	w.String(readDomain)
	w.String(q.ChainID)
	w.String(q.Requester)
	w.String(q.Patient)
	w.String(q.Record)
	w.String(q.Purpose)
	w.PutBytes(q.Nonce[:])
	w.Varint(q.NotAfter)
}

// SignBytes is what the requester signs.
func (q *ReadRequest) SignBytes() []byte { return tx.RequestSignBytes(q.encodeUnsigned) }

// Encode is the wire form.
func (q *ReadRequest) Encode() []byte { return tx.RequestEncode(q.encodeUnsigned, q.Signature) }

// Hash identifies a request (for replay detection and result lookup).
func (q *ReadRequest) Hash() [32]byte { return tx.RequestHash(q.encodeUnsigned, q.Signature) }

// Sign fills in the signature.
func (q *ReadRequest) Sign(key ed25519.PrivateKey) {
	q.Signature = tx.RequestSign(key, q.encodeUnsigned)
}

// DecodeReadRequest parses the wire form.
func DecodeReadRequest(b []byte) (*ReadRequest, error) {
	r := tx.NewReader(b)
	q := &ReadRequest{}
	if err := r.RequestHead(readDomain, "a read request"); err != nil {
		return nil, err
	}
	q.ChainID = r.String("chain id", tx.MaxChainID)
	q.Requester = r.String("requester", 64)
	q.Patient = r.String("patient", 64)
	q.Record = r.String("record", 64)
	q.Purpose = r.String("purpose", 32)
	var err error
	if q.NotAfter, q.Signature, err = r.RequestTail(&q.Nonce); err != nil {
		return nil, err
	}
	return q, nil
}

// ReadBatch is the body of a read batch.
type ReadBatch struct{ Requests []*ReadRequest }

// Type implements tx.Body.
func (*ReadBatch) Type() tx.Type { return TypeReadBatch }

// Encode implements tx.Body.
func (b *ReadBatch) Encode(w *tx.Writer) {
	w.Uvarint(uint64(len(b.Requests)))
	for _, q := range b.Requests {
		w.PutBytes(q.Encode())
	}
}

// DecodeReadBatch parses a batch.
func DecodeReadBatch(raw []byte) (*ReadBatch, error) {
	r := tx.NewReader(raw)
	n := r.Uvarint()
	if n == 0 || n > MaxBatch {
		return nil, fmt.Errorf("a batch holds 1 to %d requests, not %d", MaxBatch, n)
	}
	b := &ReadBatch{Requests: make([]*ReadRequest, 0, n)}
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		q, err := DecodeReadRequest(r.Bytes("request", 512))
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		b.Requests = append(b.Requests, q)
	}
	return b, r.Done()
}

// Outcome is what the ledger decided for one request; the serving node reads it after
// commit and releases data only if Allowed.
type Outcome struct {
	Allowed bool      `json:"allowed"`
	Reason  string    `json:"reason"`
	Grant   string    `json:"grant,omitempty"`
	Event   uint64    `json:"event"` // index of the audit event in the log
	Height  int64     `json:"height"`
	Tx      string    `json:"tx"`                // the batch transaction that recorded it
	Time    time.Time `json:"time"`              // block time of the decision
	Version uint32    `json:"version,omitempty"` // the record version read
	// Emergency is the emergency declaration that allowed a break-glass access.
	Emergency string `json:"emergency,omitempty"`
	// Rule is the access rule that decided (access.Code), so a server can answer an erased
	// record with "gone" rather than "forbidden".
	Rule string `json:"rule,omitempty"`
}

// Result loads the committed outcome of request q, or nil.
func Result(r IndexReader, q *ReadRequest) *Outcome {
	b := storedOutcome(r, q.NotAfter, q.Hash())
	if b == nil {
		return nil
	}
	o, err := decodeOutcome(b)
	if err != nil {
		panic(err)
	}
	return o
}

// VerifyRequest tells ExecReadBatch whether request i's signature verifies with the
// requester's key pub. The caller supplies it so that requests are checked by the rule the
// node applies to transactions (and may answer from what it verified before); this package
// cannot hold that rule without pulling CometBFT into every client.
type VerifyRequest func(i int, q *ReadRequest, pub ed25519.PublicKey) bool

// ExecReadBatch decides and records every request. A request that is void (wrong chain,
// expired, already seen, badly signed) is dropped without an event: it is not an access
// attempt by the identity it names.
func ExecReadBatch(st Store, env identity.Env, chainID string, b *ReadBatch, verify VerifyRequest, em EmergencyFacts) {
	memo := newReadMemo()
	for i, q := range b.Requests {
		h := q.Hash()
		if q.ChainID != chainID || storedOutcome(st, q.NotAfter, h) != nil {
			continue
		}
		if !tx.RequestInWindow(q.NotAfter, env.Time, MaxRequestAge) {
			continue
		}
		who := memo.identity(st, q.Requester)
		if who == nil {
			continue
		}
		if !verify(i, q, who.SignKey) {
			continue
		}
		out, ev := decideRead(st, env, who, q, memo.facts(st, who, q, env.Time, em))
		out.Event = st.Append(ev.Encode())
		out.Height, out.Tx, out.Time = env.Height, env.TxHash, env.Time
		st.PutIndex(outcomeKey(q.NotAfter, h), encodeOutcome(&out))
	}
}

// storedOutcome is the stored outcome of the request with expiry notAfter and hash h, also
// where an earlier release kept it, or nil.
func storedOutcome(r IndexReader, notAfter int64, h [32]byte) []byte {
	if b := r.GetIndex(outcomeKey(notAfter, h)); b != nil {
		return b
	}
	return r.GetIndex(requestKey(h))
}

// decideRead asks access.Decide and records its decision, with the rule that decided, as
// the request's audit event.
// f is AccessFacts for the requester, patient and purpose.
func decideRead(st Store, env identity.Env, who *identity.Identity, q *ReadRequest, f access.Facts) (Outcome, *audit.Event) {
	ev := env.Event(who.ID, audit.RecordRead)
	ev.Outcome = audit.Denied // until the decision allows
	ev.ActorRole, ev.Organization, ev.Patient, ev.Record, ev.Purpose = string(who.Role), who.Organization, q.Patient, q.Record, q.Purpose
	action := access.List
	if q.Record == "" {
		ev.Action = audit.RecordList
	} else {
		action = access.Read
		m, head, live := latest(st, q.Record)
		var t *Tombstone
		if head != 0 && !live { // a live head entry means no tombstone
			t = Erased(st, q.Record)
		}
		if t != nil {
			f.Record = t.facts()
		} else if head != 0 {
			f.Record = RecordFacts(m)
			if f.Record != nil && f.Record.Patient == q.Patient {
				ev.Version, ev.Category, ev.ResourceType = head, f.Record.Category, f.Record.ResourceType
			}
		}
	}
	d := access.Decide(f, access.Request{Action: action, Purpose: q.Purpose})
	ev.Reason, ev.Grant, ev.Emergency, ev.Rule = d.Reason, d.Grant, d.Emergency, string(d.Code)
	out := Outcome{Allowed: d.Allowed, Reason: d.Reason, Grant: d.Grant, Emergency: d.Emergency, Rule: string(d.Code)}
	if d.Allowed {
		ev.Outcome, out.Version = audit.Success, ev.Version
	}
	return out, ev
}
