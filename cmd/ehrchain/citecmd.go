package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/relay"
)

// relayProven makes this chain's light client clientID verify the header that carries the
// app hash of a proof of the other chain's state at height h: header h+1, which the other
// chain may not have made yet when the proof is taken. It waits for that block (the
// other chain makes one at least every second) and relays it, signed by signer; a header
// a relayer already brought is not relayed again.
func (g *globals) relayProven(ctx context.Context, src *client.Client, signer *keys.Keystore, clientID string, h int64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		st, err := src.Status(ctx)
		if err == nil && st.Height > h {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the other chain made no block after height %d (%v): relay its header %d with `ehrchain relay --height %d` and try again", h, err, h+1, h+1)
		case <-time.After(200 * time.Millisecond):
		}
	}
	r := &relay.Relayer{Source: relay.Node{C: src}, Target: relay.Chain{C: g.client(), Signer: signer}, ClientID: clientID}
	if _, err := r.RelayTo(ctx, h+1); err != nil {
		return fmt.Errorf("relaying the other chain's header %d, which the proof needs: %w", h+1, err)
	}
	return nil
}

// recordCiteCmds are `record cite` (a pharmacist cites, from its MedicationDispense record,
// the dispense the supply chain committed) and `record citations`.
func recordCiteCmds(g *globals) []*cobra.Command {
	var as, supplyAs, clientID, supplyNode, epc, event string
	cite := &cobra.Command{
		Use:   "cite RECORD",
		Short: "Cite from your MedicationDispense record the supply chain's dispensing event of the pack, with its proof",
		Long: "Asks the supply chain's node (--supply-node) for the dispensing event --event of pack --epc with the proof of\n" +
			"its state value, and submits the citation to this chain, which checks the proof against the header its light\n" +
			"client --client verified. The proof is of the supply chain's latest state; the header after it, which carries\n" +
			"that state's app hash, is relayed first (signed by --as) unless a relayer already brought it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			author, err := g.unlock(as)
			if err != nil {
				return err
			}
			supplyChain := g.peer(supplyNode)
			sc := supplyChain
			if supplyAs != "" {
				qs, err := g.unlock(supplyAs)
				if err != nil {
					return err
				}
				sc = sc.As(qs)
			} else {
				sc = sc.As(author)
			}
			body, err := sc.DispenseProof(cmd.Context(), args[0], clientID, epc, event)
			if err != nil {
				return err
			}
			if err := g.relayProven(cmd.Context(), supplyChain, author, clientID, body.Proof.Height); err != nil {
				return err
			}
			res, err := g.client().CiteDispense(cmd.Context(), author, body)
			if err != nil {
				return err
			}
			fmt.Printf("record %s cites the dispense of %s (supply chain height %d) at height %d\n", args[0], epc, body.Proof.Height, res.Height)
			return nil
		},
	}
	cite.Flags().StringVar(&as, "as", "", "keystore of the record's author (the pharmacist)")
	cite.Flags().StringVar(&supplyAs, "supply-as", "", "keystore that signs the query on the supply chain (default: --as)")
	cite.Flags().StringVar(&clientID, "client", "supply", "this chain's light client of the supply chain")
	cite.Flags().StringVar(&supplyNode, "supply-node", "", "API address of a supply-chain node")
	cite.Flags().StringVar(&epc, "epc", "", "the dispensed pack (EPC URI or GS1 Digital Link)")
	cite.Flags().StringVar(&event, "event", "", "the dispensing event's Event Hash ID (ni:///sha-256;…?ver=CBV2.0)")
	for _, f := range []string{"as", "supply-node", "epc", "event"} {
		cite.MarkFlagRequired(f)
	}

	var cAs string
	list := &cobra.Command{
		Use: "citations RECORD", Short: "Show the supply-chain dispenses a record cites, with their proofs (JSON)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&cAs, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			ans, err := g.client().As(who).Citations(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(ans)
		}),
	}
	list.Flags().StringVar(&cAs, "as", "", "keystore that signs the query (the record's patient or author, the registrar or an auditor)")
	return []*cobra.Command{cite, list}
}

// identityRecogniseCmds are `identity recognise` (anyone proves a provider's entry on its
// home shard) and `identity admit-home` (the registrar admits a client's chain as a home
// of providers).
func identityRecogniseCmds(g *globals) []*cobra.Command {
	var as, clientID, homeNode string
	rec := &cobra.Command{
		Use:   "recognise ID|NAME",
		Short: "Recognise a provider of another shard here, from its identity entry proven on its home shard",
		Long: "Asks the home shard's node (--home-node) for the provider's identity entry with its proof and submits it; this\n" +
			"chain checks it against the header its light client --client verified. Run it again with a newer proof after\n" +
			"the home shard rotated the provider's keys or deactivated it.",
		Args: cobra.ExactArgs(1),
		RunE: g.acting(&as, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			id, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			home := g.peer(homeNode)
			body, err := home.ProviderProof(cmd.Context(), clientID, id)
			if err != nil {
				return err
			}
			if err := g.relayProven(cmd.Context(), home, who, clientID, body.Proof.Height); err != nil {
				return err
			}
			res, err := g.client().Recognise(cmd.Context(), who, body)
			if err != nil {
				return err
			}
			fmt.Printf("recognised %s from its home shard's height %d at height %d\n", id, body.Proof.Height, res.Height)
			return nil
		}),
	}
	rec.Flags().StringVar(&as, "as", "", "keystore that signs (any registered identity)")
	rec.Flags().StringVar(&clientID, "client", "", "this chain's light client of the provider's home shard")
	rec.Flags().StringVar(&homeNode, "home-node", "", "API address of a node of the home shard")
	rec.MarkFlagRequired("client")
	rec.MarkFlagRequired("home-node")

	var aAs string
	var withdraw bool
	admit := &cobra.Command{
		Use: "admit-home CLIENT", Short: "Admit the chain a light client follows as a home of providers (the registrar)", Args: cobra.ExactArgs(1),
		RunE: g.acting(&aAs, func(cmd *cobra.Command, who *keys.Keystore, args []string) error {
			res, err := g.client().Send(cmd.Context(), who, &crosstx.AdmitBody{ClientID: args[0], Admit: !withdraw})
			if err != nil {
				return err
			}
			fmt.Printf("client %s admitted as a home of providers: %t, at height %d\n", args[0], !withdraw, res.Height)
			return nil
		}),
	}
	admit.Flags().StringVar(&aAs, "as", "registrar", "keystore that signs")
	admit.Flags().BoolVar(&withdraw, "withdraw", false, "withdraw the admission instead")
	return []*cobra.Command{rec, admit}
}
