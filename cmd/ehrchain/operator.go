package main

import (
	"net/http"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/operator"
)

// operatorRoutes are the node operator's endpoints (pattern such as "POST /v1/admin/verify"
// to handler). Each feature adds its own from an init function in its own file.
var operatorRoutes = map[string]func(n *node.Node, home string) http.Handler{}

// mountOperator serves the operator endpoints under operator.Prefix, loopback only and
// behind the home's operator token, which it creates on first start.
func mountOperator(srv *api.Server, n *node.Node, home string) error {
	tok, err := operator.EnsureToken(home)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for pattern, h := range operatorRoutes {
		mux.Handle(pattern, h(n, home))
	}
	srv.Handle(operator.Prefix, operator.Require(tok, mux))
	return nil
}
