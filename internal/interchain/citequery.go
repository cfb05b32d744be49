package interchain

import (
	"fmt"

	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
)

// Lister reads state entries under a prefix in key order.
type Lister interface {
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Citations lists a record's citations, in the order of the cited events' digests.
func Citations(r Lister, record string) []*crosstx.Citation {
	var out []*crosstx.Citation
	r.Iterate(crosstx.CitationPrefix(record), func(k, v []byte) bool {
		c, err := crosstx.DecodeCitation(v)
		if err != nil {
			panic(fmt.Errorf("interchain state %s: %w", k, err))
		}
		out = append(out, c)
		return true
	})
	return out
}
