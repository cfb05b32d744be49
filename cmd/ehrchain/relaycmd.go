package main

import (
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/relay"
)

// relayCmd keeps a light client of another chain up with that chain's headers.
func relayCmd(g *globals) *cobra.Command {
	var from, to, id, as string
	var witnesses []string
	var height int64
	var once bool
	var every time.Duration
	c := &cobra.Command{
		Use:   "relay --from B_API --client ID --as IDENTITY [--to A_API] [--witness B2_API]...",
		Short: "Relay chain B's signed headers to this chain's light client ID of B, signed by IDENTITY (any registered identity; docs/OPERATIONS.md, \"Relaying\")",
		Args:  cobra.NoArgs,
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, _ []string) error {
			if from == "" || id == "" {
				return fmt.Errorf("--from (chain B's API) and --client (the light client's id here) are required")
			}
			target := g.client()
			if to != "" {
				target = g.peer(to)
			}
			lg := log.New(os.Stderr, "relay ", log.LstdFlags)
			r := &relay.Relayer{Source: relay.Node{C: g.peer(from)}, Target: relay.Chain{C: target, Signer: who}, ClientID: id, Logf: lg.Printf}
			for _, w := range witnesses {
				r.Witnesses = append(r.Witnesses, relay.Node{C: g.peer(w)})
			}
			if once || height != 0 {
				res, err := r.RelayTo(cmd.Context(), height)
				if err != nil {
					return err
				}
				if len(res.Relayed) == 0 {
					fmt.Printf("client %s is at height %d: nothing to relay\n", id, res.To)
				} else {
					fmt.Printf("client %s: relayed %v, now at height %d (was %d)\n", id, res.Relayed, res.To, res.From)
				}
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			lg.Printf("relaying %s to client %s on %s every %s (Ctrl-C stops)", from, id, target.Base, every)
			return r.Run(ctx, every)
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "API address of a node of chain B, whose headers are relayed")
	f.StringVar(&to, "to", "", "API address of a node of this chain, which keeps the client (default: --node)")
	f.StringVar(&id, "client", "", "the light client's id on this chain")
	f.StringVar(&as, "as", "", "the keystore that signs the updates")
	f.BoolVar(&once, "once", false, "relay B's newest header once and exit")
	f.Int64Var(&height, "height", 0, "relay B's header of this height once and exit (a proof of B's state at height h needs header h+1)")
	f.StringArrayVar(&witnesses, "witness", nil, "API address of another node of chain B (repeatable): each header is checked against it first, and a conflicting header that verifies too is reported as misbehaviour, freezing the client")
	f.DurationVar(&every, "every", 5*time.Second, "how often to look for a newer header")
	return c
}

// peer is a client of another node than --node (the other chain's), with --insecure.
func (g *globals) peer(addr string) *client.Client {
	c := client.New(addr)
	if g.insecure {
		c.Insecure()
	}
	return c
}
