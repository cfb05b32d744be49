package node

// BreakStoreForTest closes the state database under a running node, so the next block
// faults inside consensus.
func (n *Node) BreakStoreForTest() { n.st.Close() }

// Apply exposes apply to tests.
func Apply(c *Config, o Overrides) { apply(c, o) }

// RPCListenForTest is where CometBFT was told to serve its RPC ("" for nowhere).
func (n *Node) RPCListenForTest() string { return n.cmt.Config().RPC.ListenAddress }
