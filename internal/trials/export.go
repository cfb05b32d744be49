package trials

import (
	"fmt"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Export is one dataset export event: which dataset the sponsor took, so a later analysis
// (and the results posting's dataset digest) can be matched with the data it used.
type Export struct {
	Number       uint32    `json:"number"`
	AsOf         int64     `json:"as_of"`
	Digest       string    `json:"dataset_sha256"`
	Participants uint32    `json:"participants"`
	Records      uint32    `json:"records"`
	Signature    Signature `json:"signature"`
}

func exportKey(id string, n uint32) []byte { return fmt.Appendf(nil, "trialexp/%s/%010d", id, n) }

// Exports loads every export event of a trial, oldest first.
func Exports(r Reader, t *Trial) []*Export {
	out := make([]*Export, 0, t.Exports)
	for n := uint32(1); n <= t.Exports; n++ {
		out = append(out, load[Export](r, exportKey(t.ID, n)))
	}
	return out
}

// ExecExport records a dataset export by the trial's sponsor. The contract rebuilds the
// dataset the sponsor may read at this block as of the stated height and refuses a digest
// or a count that does not match it (CodeDataset), so an export event always names the
// data consent allowed, and no other. The work is one access decision per observation.
func ExecExport(st records.Store, env identity.Env, signer string, b *ExportBody) *tx.Error {
	t, err := mustTrial(st, b.Trial)
	if err != nil {
		return err
	}
	if signer != t.Sponsor {
		return Space.Err(CodeUnauthorized, "only trial %s's sponsor %s exports its dataset", t.ID, t.Sponsor)
	}
	if err := requireRole(env, signer, sponsorRole, "sponsors a trial"); err != nil {
		return err
	}
	if !validDigest(b.Dataset) {
		return Space.Err(CodeInvalid, "dataset_sha256 %q: want the dataset file's SHA-256 as 64 lowercase hex digits", b.Dataset)
	}
	if b.AsOf < 1 || b.AsOf > env.Height {
		return Space.Err(CodeInvalid, "as_of %d: want a height from 1 to the current %d", b.AsOf, env.Height)
	}
	sig, err := sign(env, signer, b.Sign, "a dataset export", Author)
	if err != nil {
		return err
	}
	d := BuildDataset(t.ID, b.AsOf, DatasetFacts(st, t, env.Signer, env.Time))
	file := d.Encode()
	if got := DatasetDigest(file); got != b.Dataset || d.Participants != b.Participants || d.Records != b.Records {
		return Space.Err(CodeDataset, "the dataset of trial %s you may read as of height %d at %s has %d participants, %d records and SHA-256 %s; the export states %d, %d and %s",
			t.ID, b.AsOf, env.Time.UTC().Format(time.RFC3339), d.Participants, d.Records, got, b.Participants, b.Records, b.Dataset)
	}
	x := Export{Number: t.Exports + 1, AsOf: b.AsOf, Digest: b.Dataset, Participants: d.Participants, Records: d.Records, Signature: sig}
	t.Exports = x.Number
	save(st, exportKey(t.ID, x.Number), &x)
	save(st, trialKey(t.ID), t)
	ev := event(env, signer, ActionExport, t.ID)
	ev.Digest = x.Digest
	ev.Reason = fmt.Sprintf("export %d as of height %d: %d participants, %d records; %s", x.Number, x.AsOf, x.Participants, x.Records, b.Sign.Reason)
	st.Append(ev.Encode())
	return nil
}
