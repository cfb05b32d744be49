package node_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/node/nodetest"
)

// TestBadBlobPolicyRefusesToStart: a grace period or quota that cannot be meant stops the
// node at start with a message naming the setting, instead of sweeping on a guess.
func TestBadBlobPolicyRefusesToStart(t *testing.T) {
	home, _ := nodetest.Init(t)
	for _, c := range []struct {
		grace string
		quota int64
		want  string
	}{
		{"an hour", 0, "blob_orphan_grace"},
		{"-1h", 0, "blob_orphan_grace"},
		{"", -1, "blob_quota_bytes"},
	} {
		cfg, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		cfg.BlobOrphanGrace, cfg.BlobQuotaBytes = c.grace, c.quota
		if err := cfg.Save(node.Paths{Home: home}.Config()); err != nil {
			t.Fatal(err)
		}
		n, err := node.Start(home, node.Overrides{P2P: "127.0.0.1:0", NoRPC: true, LogLevel: "error"}, io.Discard)
		if err == nil {
			n.Stop()
			t.Fatalf("grace %q quota %d: the node started", c.grace, c.quota)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("grace %q quota %d: %v does not name %s", c.grace, c.quota, err, c.want)
		}
	}
}
