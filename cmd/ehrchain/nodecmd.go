package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/api"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
)

func initCmd(g *globals) *cobra.Command {
	var chainID, name string
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a single-validator chain and its registrar in --home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass, err := g.passphrase("the new registrar keystore", true)
			if err != nil {
				return err
			}
			r, err := node.Init(node.InitOptions{Home: g.home, ChainID: chainID, RegistrarName: name, Passphrase: pass, KDF: keys.DefaultKDF})
			if err != nil {
				return err
			}
			fmt.Printf("initialized chain %s in %s\n  validator  %s\n  registrar  %s (keystore %s/%s.json)\nstart it with: ehrchain start --home %s\n",
				r.ChainID, g.home, r.Validator, r.RegistrarID, r.KeystoreDir, name, g.home)
			return nil
		},
	}
	c.Flags().StringVar(&chainID, "chain-id", node.DefaultChainID, "chain id")
	c.Flags().StringVar(&name, "name", "registrar", "keystore name of the registrar")
	return c
}

func startCmd(g *globals) *cobra.Command {
	var o node.Overrides
	c := &cobra.Command{
		Use:   "start",
		Short: "Run the node and its HTTP API until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := unlockForFHIR(g); err != nil {
				return err
			}
			return runNode(g.home, o, nil, nil)
		},
	}
	f := c.Flags()
	f.StringVar(&o.API, "api", "", "HTTP API listen address (default from config, 127.0.0.1:8080)")
	f.StringVar(&o.RPC, "rpc", "", "CometBFT RPC listen address (default from config, 127.0.0.1:26657)")
	f.BoolVar(&o.NoRPC, "no-rpc", false, "do not serve the CometBFT RPC")
	f.StringVar(&o.P2P, "p2p", "", "p2p listen address (default from config, 127.0.0.1:26656)")
	f.StringVar(&o.Peers, "peers", "", "persistent peers id@host:port,...")
	f.StringVar(&o.TLSCert, "tls-cert", "", "PEM certificate: serve the API over HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	f.StringVar(&o.LogLevel, "log-level", "", "info (one line per block), error, or debug")
	addFHIRFlags(f)
	return c
}

// runNode starts a node and its API and blocks until a signal, a consensus failure, or a
// value on stop (nil: a clean stop). ready, if given, runs once the API serves. It returns an error (exit 1) on a consensus failure.
func runNode(home string, o node.Overrides, ready func(n *node.Node, apiAddr string), stop <-chan error) error {
	n, err := node.Start(home, o, os.Stderr)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", n.Config.API)
	if err != nil {
		n.Stop()
		return fmt.Errorf("API listen on %s: %w", n.Config.API, err)
	}
	srv := api.New(n)
	mountFHIR(srv, n, home)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l, n.Config.TLSCert, n.Config.TLSKey) }()
	scheme := "http"
	if n.Config.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(os.Stderr, "ehrchain node %s: chain %s, height %d, API %s://%s\n", n.Config.Moniker, n.Config.ChainID, n.Height(), scheme, l.Addr())
	if ready != nil {
		ready(n, scheme+"://"+l.Addr().String())
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	var runErr error
	select {
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "received %s, stopping\n", s)
	case runErr = <-n.Fatal():
	case err := <-serveErr:
		runErr = fmt.Errorf("API server: %w", err)
	case runErr = <-stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if err := n.Stop(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		fmt.Fprintln(os.Stderr, "stopped cleanly at height", n.Height())
	}
	return runErr
}

func (g *globals) client() *client.Client {
	addr := g.nodeURL
	scheme := "http://"
	if addr == "" {
		addr = node.DefaultAPI
		if cfg, err := node.LoadConfig(g.home); err == nil {
			addr = cfg.API
			if cfg.TLSCert != "" {
				scheme = "https://"
			}
		}
		addr = scheme + addr
	}
	c := client.New(addr)
	if g.insecure {
		c.Insecure()
	}
	return c
}

func statusCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the node's height, app hash, validators and sync state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.client().Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(s)
			}
			fmt.Printf("chain       %s\nnode        %s (%s)\nheight      %d\napp hash    %s\nblock time  %s\ncatching up %v\nevents      %d\nvalidators  %d\n",
				s.ChainID, s.Moniker, s.NodeID, s.Height, s.AppHash, s.BlockTime.Format(time.RFC3339), s.CatchingUp, s.LogSize, len(s.Validators))
			for _, v := range s.Validators {
				fmt.Printf("  %s power %d\n", v.Address, v.Power)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var errUsage = errors.New("usage")
