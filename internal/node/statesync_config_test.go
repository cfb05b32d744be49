package node

import (
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// TestStateSyncConfig: the node's settings reach CometBFT's, and bad ones are refused with
// the field they name.
func TestStateSyncConfig(t *testing.T) {
	ok := StateSync{Enable: true, RPCServers: []string{"127.0.0.1:26657"}, TrustHeight: 10, TrustHash: strings.Repeat("ab", 32)}
	cc := cmtcfg.DefaultStateSyncConfig()
	if err := (Config{StateSync: &ok}).stateSyncConfig(cc, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if !cc.Enable || len(cc.RPCServers) != 2 || cc.TrustHeight != 10 || cc.DiscoveryTime != cmtcfg.DefaultStateSyncConfig().DiscoveryTime {
		t.Fatalf("mapped config %+v", cc)
	}
	fast := ok
	fast.DiscoveryTime = "5s"
	if err := (Config{StateSync: &fast}).stateSyncConfig(cc, t.TempDir()); err != nil || cc.DiscoveryTime != 5*time.Second {
		t.Fatalf("discovery_time 5s: %v, got %s", err, cc.DiscoveryTime)
	}
	for field, edit := range map[string]func(*StateSync){
		"rpc_servers":    func(s *StateSync) { s.RPCServers = nil },
		"trust_height":   func(s *StateSync) { s.TrustHeight = 0 },
		"trust_hash":     func(s *StateSync) { s.TrustHash = "abc" },
		"trust_period":   func(s *StateSync) { s.TrustPeriod = "-1h" },
		"discovery_time": func(s *StateSync) { s.DiscoveryTime = "1s" },
	} {
		bad := ok
		edit(&bad)
		err := (Config{StateSync: &bad}).stateSyncConfig(cmtcfg.DefaultStateSyncConfig(), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: %v", field, err)
		}
	}
}
