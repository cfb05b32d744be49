package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/validators"
)

func validatorCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "validator", Short: "List and change the validator set (registrar transactions)"}
	c.AddCommand(validatorListCmd(g), validatorAddCmd(g), validatorRemoveCmd(g))
	return c
}

func validatorListCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "Every validator the chain has had, with its institution (removed ones have power 0)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.client().Validators(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(l)
			}
			fmt.Printf("height %d\n", l.Height)
			for _, v := range l.Validators {
				state := fmt.Sprintf("power %d", v.Power)
				if v.Power == 0 {
					state = fmt.Sprintf("removed at height %d", v.RemovedAt)
				}
				fmt.Printf("  %s  %-24s %s (added at height %d by %s)\n", v.Address, v.Institution, state, v.AddedAt, v.AddedBy)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// parseConsensusKey accepts an Ed25519 consensus key as base64 (as in
// priv_validator_key.json) or hex.
func parseConsensusKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("--pubkey must be a 32-byte Ed25519 key in base64 (the pub_key value of priv_validator_key.json) or hex")
}

func validatorAddCmd(g *globals) *cobra.Command {
	var as, pub, inst, name string
	var power int64
	c := &cobra.Command{
		Use:   "add",
		Short: "Add a validator run by an institution, or change a validator's power",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := parseConsensusKey(pub)
			if err != nil {
				return err
			}
			ks, err := g.unlock(as)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), ks, &validators.Set{PubKey: key, Power: power, Institution: inst, Name: name})
			if err != nil {
				return err
			}
			fmt.Printf("validator %s (%s) has power %d from height %d on (committed at %d)\n",
				validators.Address(key), inst, power, res.Height+2, res.Height)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&as, "as", "registrar", "keystore of the registrar signing the change")
	f.StringVar(&pub, "pubkey", "", "the validator's Ed25519 consensus key (base64 or hex)")
	f.StringVar(&inst, "institution", "", "institution that runs the validator")
	f.StringVar(&name, "name", "", "optional name of the node")
	f.Int64Var(&power, "power", 10, "voting power")
	c.MarkFlagRequired("pubkey")
	c.MarkFlagRequired("institution")
	return c
}

func validatorRemoveCmd(g *globals) *cobra.Command {
	var as, reason string
	c := &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "Remove a validator from the set",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := g.unlock(as)
			if err != nil {
				return err
			}
			addr := strings.ToUpper(args[0])
			res, err := g.client().Send(cmd.Context(), ks, &validators.Remove{Address: addr, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Printf("validator %s no longer votes from height %d on (committed at %d)\n", addr, res.Height+2, res.Height)
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "registrar", "keystore of the registrar signing the change")
	c.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log)")
	return c
}
