package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
)

// id makes a deterministic identity id, as keys.IDFromSignKey would from some key.
func id(i int) string {
	s := sha256.Sum256([]byte(fmt.Sprint("patient-", i)))
	return hex.EncodeToString(s[:20])
}

// TestHomeOfPinned pins the directory function: every shard, client and gateway must agree
// on it, so a change to it is a change of the network's rule, never an accident.
func TestHomeOfPinned(t *testing.T) {
	two, three := []string{"ehr-a", "ehr-b"}, []string{"ehr-a", "ehr-b", "ehr-c"}
	for _, c := range []struct {
		patient string
		shards  []string
		want    string
	}{
		{"880b42dca128c2d184e0ac969b10f9ac44811d19", two, "ehr-a"},
		{"cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801", two, "ehr-b"},
		{"740556e27ef920208fc2e783b6ea888aa3fa4dd8", two, "ehr-a"},
		{"740556e27ef920208fc2e783b6ea888aa3fa4dd8", three, "ehr-c"},
		{"cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801", three, "ehr-b"},
		{"cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801", []string{"only"}, "only"},
	} {
		got, err := HomeOf(c.patient, c.shards)
		if err != nil || got != c.want {
			t.Errorf("HomeOf(%s, %v) = %q, %v; want %q", c.patient, c.shards, got, err, c.want)
		}
	}
}

func TestHomeOfRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		name, patient string
		shards        []string
	}{
		{"empty id", "", []string{"a"}},
		{"short id", "880b42dca128c2d184e0ac969b10f9ac44811d1", []string{"a"}},
		{"upper case id", "880B42DCA128C2D184E0AC969B10F9AC44811D19", []string{"a"}},
		{"a name, not an id", "carol", []string{"a"}},
		{"no shards", id(1), nil},
	} {
		if got, err := HomeOf(c.patient, c.shards); err == nil {
			t.Errorf("%s: HomeOf = %q, want an error", c.name, got)
		}
	}
}

// TestHomeOfIgnoresOrder: two parties listing the shards in another order agree.
func TestHomeOfIgnoresOrder(t *testing.T) {
	a := []string{"ehr-a", "ehr-b", "ehr-c", "ehr-d"}
	b := []string{"ehr-d", "ehr-b", "ehr-a", "ehr-c"}
	for i := 0; i < 2000; i++ {
		x, _ := HomeOf(id(i), a)
		y, _ := HomeOf(id(i), b)
		if x != y {
			t.Fatalf("patient %s: %s with %v, %s with %v", id(i), x, a, y, b)
		}
	}
}

// TestAddingAShardMovesFew: with rendezvous hashing a patient either stays or moves to the
// new shard, and the new shard takes about a third when there were two.
func TestAddingAShardMovesFew(t *testing.T) {
	const n = 6000
	before := []string{"ehr-a", "ehr-b"}
	after := append(slices.Clone(before), "ehr-c")
	moved := 0
	for i := 0; i < n; i++ {
		x, _ := HomeOf(id(i), before)
		y, _ := HomeOf(id(i), after)
		if x != y {
			if y != "ehr-c" {
				t.Fatalf("patient %s moved from %s to %s, not to the new shard", id(i), x, y)
			}
			moved++
		}
	}
	// Expected n/3 = 2000; the bound is loose (about 10 standard deviations).
	if moved < 1600 || moved > 2400 {
		t.Errorf("%d of %d patients moved to the third shard, want about %d", moved, n, n/3)
	}
}

// TestHomeOfSpreadsEvenly: ids are uniform, so each of four shards holds about a quarter.
func TestHomeOfSpreadsEvenly(t *testing.T) {
	const n = 8000
	shards := []string{"ehr-a", "ehr-b", "ehr-c", "ehr-d"}
	count := map[string]int{}
	for i := 0; i < n; i++ {
		h, _ := HomeOf(id(i), shards)
		count[h]++
	}
	for _, s := range shards {
		if c := count[s]; c < 1700 || c > 2300 {
			t.Errorf("%s holds %d of %d patients, want about %d (%v)", s, c, n, n/4, count)
		}
	}
}

func TestNetworkHome(t *testing.T) {
	n := sample()
	for i := 0; i < 50; i++ {
		c, err := n.Home(id(i))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := HomeOf(id(i), []string{"ehr-a", "ehr-b"})
		if c.Name != want || c.ChainID != "ehrchain-"+want {
			t.Fatalf("Home(%s) = %+v, want shard %s", id(i), c, want)
		}
		if c.Name == "supply" {
			t.Fatal("a sidechain became a patient's home")
		}
	}
}

func BenchmarkHomeOf(b *testing.B) {
	for _, n := range []int{2, 16, 256} {
		shards := make([]string, n)
		for i := range shards {
			shards[i] = fmt.Sprintf("ehr-%d", i)
		}
		b.Run(fmt.Sprint(n, "shards"), func(b *testing.B) {
			p := id(7)
			for b.Loop() {
				HomeOf(p, shards)
			}
		})
	}
}
