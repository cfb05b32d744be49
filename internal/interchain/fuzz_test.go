package interchain_test

import (
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// FuzzUpdate feeds arbitrary update bodies through the router's decoder and, when one
// decodes, through the handler of a client trusting header 1: neither may panic, and a
// body that does not verify must leave the client where it was.
func FuzzUpdate(f *testing.F) {
	for _, h := range []int64{2, 5} {
		w := tx.NewWriter(0)
		(&interchain.UpdateBody{ClientID: clientID, TrustedHeight: 1, LightBlock: encodeLBNoT(sign(header(h)))}).Encode(w)
		f.Add(w.Bytes())
	}
	f.Add([]byte{})
	f.Add([]byte{2, '{', '}'})
	o := withClient(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := interchain.DecodeUpdate(raw)
		if err != nil {
			return
		}
		txn := o.st.Begin() // never flushed: each input starts from the same state
		env := identity.Env{ChainID: ourChain, Height: o.height + 1, Time: t0.Add(time.Hour), Signer: relayer}
		if terr := interchain.ExecUpdate(txn, env, relayer.ID, b); terr != nil {
			if c := interchain.GetClient(txn, clientID); c.LatestHeight != 1 || c.Frozen {
				t.Fatalf("refused update %v moved the client: %+v", terr, c)
			}
		}
	})
}

// FuzzParseLightBlock: any bytes either decode to a complete light block or are refused;
// none panics.
func FuzzParseLightBlock(f *testing.F) {
	f.Add(encodeLBNoT(sign(header(2))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		lb, err := interchain.ParseLightBlock(raw)
		if err == nil && (lb.SignedHeader == nil || lb.Header == nil || lb.Commit == nil || lb.ValidatorSet == nil) {
			t.Fatalf("an incomplete light block decoded: %+v", lb)
		}
	})
}
