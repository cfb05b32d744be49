package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
)

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// resolveID accepts an identity id or the name of a local keystore.
func (g *globals) resolveID(s string) (string, error) {
	if keys.ValidID(s) {
		return s, nil
	}
	data, err := g.keyring().Load(s)
	if err != nil {
		return "", fmt.Errorf("%q is neither an identity id (40 hex characters) nor a local keystore: %w", s, err)
	}
	info, err := keys.PublicInfo(data)
	if err != nil {
		return "", err
	}
	return info.ID, nil
}

type regFlags struct {
	role, name, org, licence string
}

func (f *regFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.role, "role", "", "registrar, provider, patient, auditor, insurer, manufacturer, repackager, wholesaler, dispenser or regulator")
	c.Flags().StringVar(&f.name, "name", "", "display name (default: the keystore name)")
	c.Flags().StringVar(&f.org, "org", "", "organization (required for providers and insurers)")
	c.Flags().StringVar(&f.licence, "licence", "", "licence number (required for providers)")
}

func identityCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "identity", Short: "Register, inspect, deactivate and re-key identities on the ledger"}
	c.AddCommand(identityRegCmd(g), identityReqCmd(g), identityShowCmd(g), identityListCmd(g), identityDeactCmd(g), identityRotCmd(g))
	c.AddCommand(identityRecogniseCmds(g)...)
	return c
}

func identityRegCmd(g *globals) *cobra.Command {
	var rf regFlags
	var as, keyName, request string
	reg := &cobra.Command{
		Use:   "register",
		Short: "Register an identity: --key NAME (a local keystore) or --request FILE, signed by --as",
		Long: "A provider registers a patient, as a registration desk does once it has proofed the person:\n" +
			"`identity register --as dr-alice --key carol --role patient` (a chain created with\n" +
			"`init --open-registration` also lets a patient register themself: leave out --as).\n" +
			"The registrar registers a provider, auditor or insurer:\n" +
			"`identity register --as registrar --key dr-bob --role provider --org ... --licence ...`, or with a\n" +
			"request file the subject made with `identity request` (it carries the subject's proof of possession).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl := g.client()
			var err error
			var body *identity.Register
			var subjectKS *keys.Keystore
			switch {
			case request != "":
				b, err := os.ReadFile(request)
				if err != nil {
					return err
				}
				body = &identity.Register{}
				if err := json.Unmarshal(b, body); err != nil {
					return fmt.Errorf("request file %s: %w", request, err)
				}
				if cl, err = g.registrationClient(cmd.Context(), body.Role, body.SubjectID()); err != nil {
					return err
				}
			case keyName != "":
				if subjectKS, err = g.unlock(keyName); err != nil {
					return err
				}
				role, err := identity.ParseRole(rf.role)
				if err != nil {
					return err
				}
				if cl, err = g.registrationClient(cmd.Context(), role, subjectKS.ID); err != nil {
					return err
				}
				chainID, err := cl.ChainIDOf(cmd.Context())
				if err != nil {
					return err
				}
				name := rf.name
				if name == "" {
					name = keyName
				}
				body = client.RegistrationFor(chainID, subjectKS, role, name, rf.org, rf.licence)
			default:
				return fmt.Errorf("give --key NAME (a local keystore) or --request FILE")
			}
			signerName := as
			if signerName == "" {
				signerName = keyName
			}
			if signerName == "" {
				return fmt.Errorf("give --as NAME: the keystore that signs the registration")
			}
			signer := subjectKS
			if signerName != keyName || signer == nil {
				if signer, err = g.unlock(signerName); err != nil {
					return err
				}
			}
			res, err := cl.Send(cmd.Context(), signer, body)
			if err != nil {
				return err
			}
			fmt.Printf("registered %s %s (%s) at height %d, tx %s\n", body.Role, body.SubjectID(), body.Name, res.Height, res.Hash)
			if body.Role == identity.Patient && subjectKS != nil {
				n, err := cl.PublishCategories(cmd.Context(), subjectKS, consent.DefaultCategories)
				if err != nil {
					return fmt.Errorf("registered, but publishing the category keys failed (retry with `consent keys`): %w", err)
				}
				if err := g.save(subjectKS, true); err != nil {
					return err
				}
				fmt.Printf("published %d category keys (%s)\n", n, strings.Join(consent.DefaultCategories, ", "))
			}
			return nil
		},
	}
	rf.bind(reg)
	reg.Flags().StringVar(&as, "as", "", "keystore that signs: the registrar, or a provider for a patient (default: the subject itself, where the chain lets patients register themselves)")
	reg.Flags().StringVar(&keyName, "key", "", "local keystore of the identity to register")
	reg.Flags().StringVar(&request, "request", "", "registration request file made by `identity request`")
	return reg
}

func identityReqCmd(g *globals) *cobra.Command {
	var rq regFlags
	var rqKey, rqOut string
	req := &cobra.Command{
		Use:   "request",
		Short: "Write a signed registration request for your keystore, to hand to the registrar or your provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := g.unlock(rqKey)
			if err != nil {
				return err
			}
			role, err := identity.ParseRole(rq.role)
			if err != nil {
				return err
			}
			chainID, err := g.client().ChainIDOf(cmd.Context())
			if err != nil {
				return err
			}
			name := rq.name
			if name == "" {
				name = rqKey
			}
			b, _ := json.MarshalIndent(client.RegistrationFor(chainID, ks, role, name, rq.org, rq.licence), "", "  ")
			if rqOut == "" {
				_, err = os.Stdout.Write(append(b, '\n'))
				return err
			}
			return os.WriteFile(rqOut, append(b, '\n'), 0o644)
		},
	}
	rq.bind(req)
	req.Flags().StringVar(&rqKey, "key", "", "your local keystore")
	req.Flags().StringVar(&rqOut, "out", "", "output file (default stdout)")
	return req
}

func identityShowCmd(g *globals) *cobra.Command {
	var prove, showJSON bool
	var sas string
	show := &cobra.Command{
		Use: "show ID|NAME", Short: "Show an identity as committed on the ledger", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			cl := g.client()
			if sas != "" {
				who, err := g.unlock(sas)
				if err != nil {
					return err
				}
				cl = cl.As(who)
			}
			r, err := cl.Identity(cmd.Context(), id, prove)
			if err != nil {
				return err
			}
			if showJSON || prove {
				return printJSON(r)
			}
			i := r.Identity
			fmt.Printf("id            %s\nrole          %s\nname          %s\n", i.ID, i.Role, i.Name)
			if i.Organization != "" {
				fmt.Printf("organization  %s\n", i.Organization)
			}
			if i.Licence != "" {
				fmt.Printf("licence       %s\n", i.Licence)
			}
			status := "active"
			if !i.Active {
				status = fmt.Sprintf("deactivated at height %d (%s)", i.Deactivated, i.Reason)
			}
			fmt.Printf("status        %s\nkey version   %d\nregistered    height %d by %s\nnext sequence %d\n", status, i.KeyVersion, i.RegisteredAt, i.RegisteredBy, r.NextSequence)
			return nil
		},
	}
	show.Flags().BoolVar(&prove, "prove", false, "include a Merkle proof against the app hash (of a patient: only to the patient, their registering provider, a grantee or an auditor, signed with --as)")
	show.Flags().StringVar(&sas, "as", "", "keystore that signs the query (a patient's sponsor and proof need it)")
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	return show
}

func identityListCmd(g *globals) *cobra.Command {
	var role, las string
	list := &cobra.Command{
		Use: "list", Short: "List the identities you may see (signed --as: institutions, and the patients you care for; all for the registrar or an auditor)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if las == "" {
				return fmt.Errorf("give --as NAME: the list shows which patients an institution cares for, so it is answered only to a signed query")
			}
			who, err := g.unlock(las)
			if err != nil {
				return err
			}
			ids, err := g.client().As(who).Identities(cmd.Context(), role)
			if err != nil {
				return err
			}
			for _, i := range ids {
				st := "active"
				if !i.Active {
					st = "deactivated"
				}
				fmt.Printf("%s\t%-9s\t%-11s\t%s\t%s\n", i.ID, i.Role, st, i.Name, i.Organization)
			}
			return nil
		},
	}
	list.Flags().StringVar(&role, "role", "", "only this role")
	list.Flags().StringVar(&las, "as", "", "keystore that signs the query")
	return list
}

func identityDeactCmd(g *globals) *cobra.Command {
	var dAs, reason string
	deact := &cobra.Command{
		Use: "deactivate ID|NAME", Short: "Deactivate an identity (the registrar, or the identity itself)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := g.resolveID(args[0])
			if err != nil {
				return err
			}
			signer, err := g.unlock(dAs)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), signer, &identity.Deactivate{ID: id, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Printf("deactivated %s at height %d\n", id, res.Height)
			return nil
		},
	}
	deact.Flags().StringVar(&dAs, "as", "registrar", "keystore that signs")
	deact.Flags().StringVar(&reason, "reason", "", "why")
	return deact
}

func identityRotCmd(g *globals) *cobra.Command {
	var rAs string
	rot := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Replace a local identity's keys on the ledger (signed with its current key, or --as registrar) and in its keystore",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := g.unlock(args[0])
			if err != nil {
				return err
			}
			signer := ks
			if rAs != "" && rAs != args[0] {
				if signer, err = g.unlock(rAs); err != nil {
					return err
				}
			}
			cl := g.client()
			chainID, err := cl.ChainIDOf(cmd.Context())
			if err != nil {
				return err
			}
			rotated := *ks
			rotated.Previous = append([]*keys.KeyPair(nil), ks.Previous...)
			nk, err := rotated.Rotate()
			if err != nil {
				return err
			}
			body := &identity.Rotate{ID: ks.ID, SignKey: nk.SignPublic(), EncKey: nk.EncPublic()}
			body.Proof = identity.SignPop(nk.Sign, chainID, "rotate", ks.ID, body.EncKey)
			// The ledger must accept the new keys before the keystore forgets which is current.
			res, err := cl.Send(cmd.Context(), signer, body)
			if err != nil {
				return err
			}
			if err := g.save(&rotated, true); err != nil {
				return fmt.Errorf("the ledger has the new keys (height %d) but saving the keystore failed: %w", res.Height, err)
			}
			fmt.Printf("rotated keys of %s at height %d\n", ks.ID, res.Height)
			return nil
		},
	}
	rot.Flags().StringVar(&rAs, "as", "", "keystore that signs (default: the identity itself)")
	return rot
}
