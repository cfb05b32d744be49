package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/portal"
)

func portalCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "portal", Short: "Administer the web portal's sign-in settings on this node"}
	var reason string
	reset := &cobra.Command{
		Use:   "reset-factors NAME|ID",
		Short: "Remove an identity's second factors (lost phone or passkey); the next sign-in enrols new ones. The node must be stopped.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			release, err := node.LockHome(g.home)
			if err != nil {
				return err
			}
			defer release()
			id, name := args[0], args[0]
			if !keys.ValidID(id) {
				data, err := g.keyring().Load(name)
				if err != nil {
					return fmt.Errorf("no identity id and no keystore named %q: %w", name, err)
				}
				info, err := keys.PublicInfo(data)
				if err != nil {
					return err
				}
				id = info.ID
			}
			had, err := portal.ResetFactors(g.home, id, name, reason)
			if err != nil {
				return err
			}
			if !had {
				fmt.Printf("%s (%s) had no second factor enrolled; nothing to remove\n", name, id)
				return nil
			}
			fmt.Printf("removed the second factors of %s (%s); the next sign-in after the passphrase enrols new ones\n", name, id)
			return nil
		},
	}
	reset.Flags().StringVar(&reason, "reason", "", "why (written to the sign-in log the auditors see)")
	reset.MarkFlagRequired("reason")
	c.AddCommand(reset)
	return c
}
