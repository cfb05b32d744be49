package node

// BreakStoreForTest closes the state database under a running node, so the next block
// faults inside consensus.
func (n *Node) BreakStoreForTest() { n.st.Close() }

// Apply exposes apply to tests.
func Apply(c *Config, o Overrides) { apply(c, o) }

// RPCListenForTest is where CometBFT was told to serve its RPC ("" for nowhere).
func (n *Node) RPCListenForTest() string { return n.cmt.Config().RPC.ListenAddress }

// WALHeadForTest is the path of the consensus WAL's head file as the trimmer reaches it.
func (n *Node) WALHeadForTest() (string, error) {
	st, err := consensusState(n.cmt.ConsensusReactor())
	if err != nil {
		return "", err
	}
	g, err := walGroup(st)
	if err != nil || g == nil {
		return "", err
	}
	return g.Head.Path, nil
}

// WALTrimmerForTest returns a function that runs one WAL trimmer of n once.
func (n *Node) WALTrimmerForTest() func() {
	t := &walTrimmer{n: n}
	return t.trim
}

// HeightForTest is the block store's height.
func (n *Node) HeightForTest() int64 { return n.cmt.BlockStore().Height() }

// ProposerForTest is the consensus address of the validator that proposed block h.
func (n *Node) ProposerForTest(h int64) string {
	m := n.cmt.BlockStore().LoadBlockMeta(h)
	if m == nil {
		return ""
	}
	return m.Header.ProposerAddress.String()
}
