package node

import "github.com/ehrchain/ehrchain/internal/api"

// API is the node as the HTTP API reads it: the committed view and the blob store as the
// interfaces api.Backend asks for, so the API never names the store's concrete types. The
// node's optional abilities (AuditIndex, BlobPeer) stay visible to the API's checks for them.
func (n *Node) API() api.Backend { return apiBackend{n} }

type apiBackend struct{ *Node }

func (b apiBackend) View() api.View   { return b.Node.View() }
func (b apiBackend) Blobs() api.Blobs { return b.Node.Blobs() }
