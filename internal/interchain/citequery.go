package interchain

// Lister reads state entries under a prefix in key order.
type Lister interface {
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// Citations lists a record's citations, in the order of the cited events' digests.
func Citations(r Lister, record string) []*Citation {
	var out []*Citation
	r.Iterate(CitationPrefix(record), func(_, v []byte) bool {
		c := decodeCitation(v)
		out = append(out, c)
		return true
	})
	return out
}
