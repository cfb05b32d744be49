package emergency

import (
	"crypto/ed25519"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// routineBody stands for any routine transaction (a record write, a grant...).
type routineBody struct{ pad int }

func (routineBody) Type() tx.Type         { return 10 }
func (b routineBody) Encode(w *tx.Writer) { w.PutBytes(make([]byte, b.pad)) }
func signerOf(i int) (ed25519.PrivateKey, [tx.SignerLen]byte) {
	seed := make([]byte, 32)
	seed[0], seed[1] = byte(i), byte(i>>8)
	k := ed25519.NewKeyFromSeed(seed)
	var s [tx.SignerLen]byte
	copy(s[:], k.Public().(ed25519.PublicKey))
	return k, s
}

type txGen struct{ seqs map[int]uint64 }

func (g *txGen) make(signer int, body tx.Body) []byte {
	if g.seqs == nil {
		g.seqs = map[int]uint64{}
	}
	k, s := signerOf(signer)
	seq := g.seqs[signer]
	g.seqs[signer]++
	return tx.Sign(k, s, "test-chain", seq, body).Encode()
}

func (g *txGen) routine(signer int) []byte { return g.make(signer, routineBody{pad: 300}) }
func (g *txGen) urgent(signer int) []byte {
	return g.make(signer, &DeclareBody{Patient: "p", Reason: "unconscious"})
}

func zeroNext([tx.SignerLen]byte) uint64 { return 0 }

func kinds(txs [][]byte) string {
	var b strings.Builder
	for _, t := range txs {
		if classify(t).prio {
			b.WriteByte('E')
		} else {
			b.WriteByte('r')
		}
	}
	return b.String()
}

func TestOrderPutsEmergencyFirst(t *testing.T) {
	var g txGen
	var in [][]byte
	for i := range 50 {
		in = append(in, g.routine(i))
	}
	in = append(in, g.urgent(100))
	for i := 50; i < 60; i++ {
		in = append(in, g.routine(i))
	}
	in = append(in, g.urgent(101))
	out := Order(in, nil, 1<<30, zeroNext)
	if got := kinds(out); got != "EE"+strings.Repeat("r", 60) {
		t.Fatalf("order %s", got)
	}
	if len(out) != len(in) {
		t.Fatalf("%d of %d transactions kept", len(out), len(in))
	}
	if err := CheckOrder(out); err != nil {
		t.Fatalf("the built block fails its own check: %v", err)
	}
	if err := CheckOrder(in); err == nil {
		t.Fatal("a block with emergency transactions behind routine ones was accepted")
	}
}

// TestOrderTakesPooledEmergency: the mempool offers only its oldest (routine) transactions,
// as under saturation; the pooled emergency transaction still goes first and the block
// stays within its byte limit.
func TestOrderTakesPooledEmergency(t *testing.T) {
	var g txGen
	var offered [][]byte
	for i := range 100 {
		offered = append(offered, g.routine(i))
	}
	urgent := g.urgent(500)
	limit := int64(0)
	for _, t := range offered {
		limit += protoSize(len(t))
	}
	out := Order(offered, [][]byte{urgent, offered[3]}, limit, zeroNext)
	if string(out[0]) != string(urgent) {
		t.Fatal("the pooled emergency transaction is not first")
	}
	var total int64
	for _, t := range out {
		total += protoSize(len(t))
	}
	if total > limit {
		t.Fatalf("block is %d bytes, limit %d", total, limit)
	}
	if len(out) != len(offered) { // one routine transaction made room
		t.Fatalf("%d transactions, want %d", len(out), len(offered))
	}
	if err := CheckOrder(out); err != nil {
		t.Fatal(err)
	}
}

// TestOrderKeepsSignerSequence: an emergency transaction behind a routine one of the same
// signer stays behind it (moving it would break the sequence); one that is not its
// signer's next transaction is left out.
func TestOrderKeepsSignerSequence(t *testing.T) {
	var g txGen
	r0 := g.routine(7)
	e1 := g.urgent(7)
	other := g.urgent(8)
	out := Order([][]byte{r0, e1, other}, nil, 1<<30, zeroNext)
	if len(out) != 3 || string(out[0]) != string(other) || string(out[1]) != string(r0) || string(out[2]) != string(e1) {
		t.Fatalf("order %s", kinds(out))
	}
	if err := CheckOrder(out); err != nil {
		t.Fatal(err)
	}
	// Signer 9's next committed sequence is 5: a pooled emergency tx with sequence 0 is
	// not promoted.
	stale := g.urgent(9)
	_, s9 := signerOf(9)
	out = Order([][]byte{g.routine(1)}, [][]byte{stale}, 1<<30, func(s [tx.SignerLen]byte) uint64 {
		if s == s9 {
			return 5
		}
		return 0
	})
	if len(out) != 1 || kinds(out) != "r" {
		t.Fatalf("a stale pooled transaction was proposed: %s", kinds(out))
	}
}

func TestOrderLaneDoesNotStarveRoutine(t *testing.T) {
	var g txGen
	var in [][]byte
	// Emergency transactions worth more than the lane (~200 KB each), then routine ones.
	for i := range 60 {
		in = append(in, g.make(1000+i, &ReleaseBody{Declaration: "e-x", Sealed: make([]byte, 150<<10)}))
	}
	if !classify(in[0]).prio {
		t.Fatal("fixture: the large release does not decode")
	}
	for i := range 20 {
		in = append(in, g.routine(i))
	}
	out := Order(in, nil, 1<<30, zeroNext)
	var lane int64
	k := kinds(out)
	for i, t := range out {
		if k[i] != 'E' {
			break
		}
		lane += protoSize(len(t))
	}
	if lane > LaneBytes {
		t.Fatalf("lane holds %d bytes, more than %d", lane, LaneBytes)
	}
	if !strings.Contains(k, "r") || len(out) != len(in) {
		t.Fatalf("routine transactions starved: %s", k)
	}
	if err := CheckOrder(out); err != nil {
		t.Fatal(err)
	}
	// The overflow goes after the routine transactions.
	fit := int(LaneBytes / protoSize(len(in[0]))) // every release is the same size
	if want := strings.Repeat("E", fit) + strings.Repeat("r", 20) + strings.Repeat("E", 60-fit); k != want {
		t.Fatalf("order %s, want %s", k, want)
	}
}

// TestCheckOrderOnRandomMixes: whatever the mempool offers, Order builds a block CheckOrder
// accepts, with every promotable emergency transaction ahead of every routine one.
func TestCheckOrderOnRandomMixes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var g txGen
		var in [][]byte
		for range r.IntN(40) {
			s := r.IntN(8)
			if r.IntN(4) == 0 {
				in = append(in, g.urgent(s))
			} else {
				in = append(in, g.routine(s))
			}
		}
		out := Order(in, nil, 1<<30, zeroNext)
		if err := CheckOrder(out); err != nil {
			t.Fatalf("round %d: %v (order %s from %s)", round, err, kinds(out), kinds(in))
		}
		if len(out) != len(in) {
			t.Fatalf("round %d: %d of %d kept", round, len(out), len(in))
		}
	}
}

func TestCheckOrderIgnoresGarbage(t *testing.T) {
	var g txGen
	if err := CheckOrder([][]byte{g.urgent(1), []byte("not a transaction"), g.routine(2)}); err != nil {
		t.Fatal(err)
	}
	if err := CheckOrder([][]byte{[]byte("junk"), g.urgent(1)}); err == nil {
		t.Fatal("an emergency transaction behind an undecodable one was accepted")
	}
}

// BenchmarkOrderAndCheck prices the proposal ordering of a full block of record writes
// (16,000 × 4.1 KB, a 64 MiB block) with one emergency transaction pooled:
// PrepareProposal's Order plus ProcessProposal's CheckOrder.
//
//	go test -run XXX -bench OrderAndCheck ./internal/emergency/
func BenchmarkOrderAndCheck(b *testing.B) {
	var g txGen
	txs := make([][]byte, 16_000)
	for i := range txs {
		txs[i] = g.make(i%64, routineBody{pad: 4000})
	}
	for _, c := range []struct {
		name  string
		extra [][]byte
	}{{"pool-empty", nil}, {"one-pooled", [][]byte{g.urgent(1000)}}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				out := Order(txs, c.extra, 1<<30, zeroNext)
				if err := CheckOrder(out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
