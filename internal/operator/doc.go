// Package operator guards the node operator's endpoints (online verify, backup, snapshots)
// that bypass the audited path: they answer only on loopback and only to a caller holding
// the node-local token in HOME/operator.token, which only the node's own OS user can read.
package operator
