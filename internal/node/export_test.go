package node

// BreakStoreForTest closes the state database under a running node, so the next block
// faults inside consensus.
func (n *Node) BreakStoreForTest() { n.st.Close() }

// Apply exposes apply to tests.
func Apply(c *Config, o Overrides) { apply(c, o) }
