package node

import (
	"testing"

	"github.com/ehrchain/ehrchain/internal/auditindex"
)

// TestAPIKeepsOptionalAbilities: the API looks for an audit index and blob peers by type
// assertion on its backend; the adapter must not hide them (queries would silently scan,
// blob fetches between nodes be refused).
func TestAPIKeepsOptionalAbilities(t *testing.T) {
	b := (&Node{}).API()
	if _, ok := b.(interface{ AuditIndex() *auditindex.Index }); !ok {
		t.Error("the API backend hides AuditIndex")
	}
	if _, ok := b.(interface{ BlobPeer(id string) bool }); !ok {
		t.Error("the API backend hides BlobPeer")
	}
}
