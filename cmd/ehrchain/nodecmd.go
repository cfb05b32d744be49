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
	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/portal"
)

func initCmd(g *globals) *cobra.Command {
	var chainID, name, profile string
	var open bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a single-validator chain and its registrar in --home",
		Long: `init creates a single-validator chain. --profile supply makes it a supply-chain
sidechain of a sharded network: its chain id defaults to ` + supplyChainID + `; the chain runs the
same application (the profile names the chain, it does not restrict the transactions).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch profile {
			case "ehr":
			case "supply":
				if !cmd.Flags().Changed("chain-id") {
					chainID = supplyChainID
				}
			default:
				return fmt.Errorf("--profile %q: want ehr or supply", profile)
			}
			pass, err := g.passphrase("the new registrar keystore", true)
			if err != nil {
				return err
			}
			r, err := node.Init(node.InitOptions{Home: g.home, ChainID: chainID, RegistrarName: name, Passphrase: pass, KDF: keys.DefaultKDF,
				Params: app.Params{OpenRegistration: open}})
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
	c.Flags().StringVar(&profile, "profile", "ehr", "ehr (an EHR chain or shard) or supply (the supply-chain sidechain)")
	c.Flags().BoolVar(&open, "open-registration", false, "let patients register themselves (all of them together within the genesis budgets' open pool); by default a provider registers each patient")
	return c
}

// supplyChainID is the default chain id of a node made with init --profile supply.
const supplyChainID = "ehrchain-supply-1"

func startCmd(g *globals) *cobra.Command {
	var o node.Overrides
	var pf portalFlags
	c := &cobra.Command{
		Use:   "start",
		Short: "Run the node and its HTTP API until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := unlockForFHIR(g); err != nil {
				return err
			}
			return runNode(g.home, o, pf, nil, nil)
		},
	}
	f := c.Flags()
	f.StringVar(&o.API, "api", "", "HTTP API listen address (default from config, 127.0.0.1:8080)")
	f.StringVar(&o.RPC, "rpc", "", "serve the CometBFT RPC (off by default): \"on\" for 127.0.0.1:26657, or an address; it bypasses the audited API, for node operators only")
	f.BoolVar(&o.NoRPC, "no-rpc", false, "do not serve the CometBFT RPC even if the config names an address")
	f.StringVar(&o.P2P, "p2p", "", "p2p listen address (default from config, 127.0.0.1:26656)")
	f.StringVar(&o.Peers, "peers", "", "persistent peers id@host:port,...")
	f.StringVar(&o.TLSCert, "tls-cert", "", "PEM certificate: serve the API over HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	f.StringVar(&o.LogLevel, "log-level", "", "info (one line per block), error, or debug")
	pf.add(c)
	addFHIRFlags(f)
	return c
}

// portalFlags are the web portal's options of start and demo.
type portalFlags struct {
	off  bool
	host string
}

func (pf *portalFlags) add(c *cobra.Command) {
	c.Flags().BoolVar(&pf.off, "no-portal", false, "do not serve the web portal under /portal/")
	c.Flags().StringVar(&pf.host, "portal-host", "localhost", "host name people open the portal at (passkeys are bound to it; an IP address cannot hold them)")
}

// portalURL is the address to open the portal at: the API address with the portal's host
// name, since passkeys do not work on a bare IP address.
func portalURL(scheme, host, apiAddr string) string {
	_, port, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return scheme + "://" + apiAddr + portal.Prefix
	}
	return scheme + "://" + net.JoinHostPort(host, port) + portal.Prefix
}

// runNode starts a node and its API and blocks until a signal, a consensus failure, or a
// value on stop (nil: a clean stop). ready, if given, runs once the API serves. It returns an error (exit 1) on a consensus failure.
func runNode(home string, o node.Overrides, pf portalFlags, ready func(n *node.Node, apiAddr string), stop <-chan error) error {
	noPortal, portalHost := pf.off, pf.host
	fileLimit, err := netlimit.RaiseFileLimit()
	if err != nil {
		return err
	}
	n, err := node.Start(home, o, os.Stderr)
	if err != nil {
		return err
	}
	l, err := listenAPI(n.Config, fileLimit)
	if err != nil {
		n.Stop()
		return err
	}
	srv := api.New(n.API())
	if err := errors.Join(srv.ConfigureEPCIS(n.Config.EPCISSchema), srv.LimitVerify(n.Config.VerifyPerMinute, nil)); err != nil {
		l.Close()
		n.Stop()
		return err
	}
	if err := recordAPIAddr(home, l.Addr()); err != nil {
		l.Close()
		n.Stop()
		return err
	}
	if err := mountOperator(srv, n, home); err != nil {
		l.Close()
		n.Stop()
		return err
	}
	si, err := openSignIn(home) // one sign-in state for the portal and the FHIR login
	if err != nil {
		l.Close()
		n.Stop()
		return err
	}
	defer si.Close()
	if err := mountFHIR(srv, n, home, si); err != nil {
		l.Close()
		n.Stop()
		return err
	}
	if !noPortal {
		pt, err := portal.New(portal.Config{Home: home, API: srv, Secure: n.Config.TLSCert != "", RPID: portalHost, SignIn: si,
			Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
		if err != nil {
			l.Close()
			n.Stop()
			return err
		}
		defer pt.Close()
		srv.Handle(portal.Prefix, pt)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l, n.Config.TLSCert, n.Config.TLSKey) }()
	scheme := "http"
	if n.Config.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(os.Stderr, "ehrchain node %s: chain %s, height %d, API %s://%s\n", n.Config.Moniker, n.Config.ChainID, n.Height(), scheme, l.Addr())
	if !noPortal {
		fmt.Fprintf(os.Stderr, "web portal: %s\n", portalURL(scheme, portalHost, l.Addr().String()))
	}
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
