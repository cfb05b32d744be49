package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/interchain/crosstx"
	"github.com/ehrchain/ehrchain/internal/keys"
)

// otherNode is a client of another chain's node (the supply chain, a home shard), with the
// same TLS setting as --node.
func (g *globals) otherNode(addr string) *client.Client {
	c := client.New(addr)
	if g.insecure {
		c.Insecure()
	}
	return c
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
			"client --client verified. The proof is of the supply chain's latest state: if the client has not yet verified\n" +
			"the header after it, relay that header first and cite again.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			author, err := g.unlock(as)
			if err != nil {
				return err
			}
			sc := g.otherNode(supplyNode)
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
			body, err := g.otherNode(homeNode).ProviderProof(cmd.Context(), clientID, id)
			if err != nil {
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
