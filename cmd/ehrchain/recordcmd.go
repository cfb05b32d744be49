package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
)

func recordCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "record", Short: "Write and read encrypted patient records (every read is audited on the ledger)"}
	c.AddCommand(recordPutCmd(g), recordGetCmd(g), recordListCmd(g), recordHistoryCmd(g), eraseCmd(g))
	c.AddCommand(recordRecallCmds(g)...)
	c.AddCommand(recordCiteCmds(g)...)
	return c
}

// recordPutCmd is `record put`.
func recordPutCmd(g *globals) *cobra.Command {
	var as, patient, category, rtype, ctype, id string
	put := &cobra.Command{
		Use: "put FILE", Short: "Encrypt a FHIR JSON resource (or any file with --content-type) and write it for a patient", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if ctype == "" {
				var res struct {
					ResourceType string `json:"resourceType"`
				}
				if json.Unmarshal(data, &res) != nil || res.ResourceType == "" {
					return fmt.Errorf("%s is not a FHIR JSON resource: give --content-type for other files", args[0])
				}
				ctype, rtype = "application/fhir+json", res.ResourceType
			} else if rtype == "" {
				rtype = "Binary"
			}
			author, pid, err := g.unlockFor(as, patient)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), pid)
			if err != nil {
				return err
			}
			m, err := cl.PutRecord(cmd.Context(), author, client.NewRecord{ID: id, Patient: pid, Category: category,
				ResourceType: rtype, ContentType: ctype, Plaintext: data})
			if err != nil {
				return err
			}
			where := "inline"
			if m.Blob {
				where = "blob store"
			}
			fmt.Printf("wrote %s version %d (%s, %s, %d bytes encrypted, %s) at height %d\n", m.RecordID, m.Version, m.ResourceType, m.Category, m.Size, where, m.Height)
			return nil
		},
	}
	put.Flags().StringVar(&as, "as", "", "author keystore")
	put.Flags().StringVar(&patient, "patient", "", "patient id or keystore name")
	put.Flags().StringVar(&category, "category", "general", "record category (a sensitivity label with its own patient key)")
	put.Flags().StringVar(&rtype, "type", "", "resource type (default: the FHIR resourceType, or Binary)")
	put.Flags().StringVar(&ctype, "content-type", "", "content type for non-FHIR files")
	put.Flags().StringVar(&id, "id", "", "record id (default: new; an existing id writes an amendment)")
	return put
}

// readFlags are the flags of an audited read: who asks, about which patient, why.
type readFlags struct{ as, patient, purpose string }

func (f *readFlags) add(cc *cobra.Command) {
	cc.Flags().StringVar(&f.as, "as", "", "your keystore")
	cc.Flags().StringVar(&f.patient, "patient", "", "patient id or keystore name")
	cc.Flags().StringVar(&f.purpose, "purpose", consent.Treatment, "purpose of use: "+strings.Join(consent.Purposes, ", "))
}

// recordGetCmd is `record get`.
func recordGetCmd(g *globals) *cobra.Command {
	var f readFlags
	var out string
	get := &cobra.Command{
		Use: "get RECORD", Short: "Read and decrypt a record (the access is recorded before anything is released)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			who, pid, err := g.unlockFor(f.as, f.patient)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), pid)
			if err != nil {
				return err
			}
			r, err := cl.ReadRecord(cmd.Context(), who, pid, args[0], f.purpose)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "%s version %d, %s, %s; access recorded as event %d (%s)\n", r.Meta.RecordID, r.Meta.Version, r.Meta.ResourceType, r.Meta.Category, r.Outcome.Event, r.Outcome.Reason)
			if out == "" || out == "-" {
				_, err = os.Stdout.Write(r.Plaintext)
				return err
			}
			return os.WriteFile(out, r.Plaintext, 0o600)
		},
	}
	f.add(get)
	get.Flags().StringVar(&out, "out", "", "write the plaintext here (default stdout)")
	return get
}

// recordListCmd is `record list`.
func recordListCmd(g *globals) *cobra.Command {
	var f readFlags
	list := &cobra.Command{
		Use: "list", Short: "List the records of a patient you may read", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, pid, err := g.unlockFor(f.as, f.patient)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), pid)
			if err != nil {
				return err
			}
			ms, err := cl.ListRecords(cmd.Context(), who, pid, f.purpose)
			if err != nil {
				return err
			}
			printMetas(ms)
			return nil
		},
	}
	f.add(list)
	return list
}

// recordHistoryCmd is `record history`.
func recordHistoryCmd(g *globals) *cobra.Command {
	var f readFlags
	hist := &cobra.Command{
		Use: "history RECORD", Short: "Show every version of a record", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			who, pid, err := g.unlockFor(f.as, f.patient)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), pid)
			if err != nil {
				return err
			}
			ms, err := cl.History(cmd.Context(), who, pid, args[0], f.purpose)
			if err != nil {
				return err
			}
			printMetas(ms)
			return nil
		},
	}
	f.add(hist)
	return hist
}

// unlockFor unlocks the caller's keystore and resolves the patient (an id or a keystore
// name): what every record command starts with.
func (g *globals) unlockFor(as, patient string) (*keys.Keystore, string, error) {
	who, err := g.unlock(as)
	if err != nil {
		return nil, "", err
	}
	pid, err := g.resolveID(patient)
	return who, pid, err
}

func printMetas(ms []*records.Meta) {
	for _, m := range ms {
		fmt.Printf("%s\tv%d\t%-14s\t%-13s\t%s\tby %s\theight %d\n", m.RecordID, m.Version, m.ResourceType, m.Category,
			time.Unix(m.Time, 0).UTC().Format(time.RFC3339), m.Author, m.Height)
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func consentCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "consent", Short: "Grant, revoke and list access to a patient's records"}
	c.AddCommand(consentGrantCmd(g), consentRevokeCmd(g), consentListCmd(g), consentKeysCmd(g))
	return c
}

// consentGrantCmd is `consent grant`.
func consentGrantCmd(g *globals) *cobra.Command {
	var as, to, org, cats, types, recs, actions, purposes, expires, denyCats, denyTypes string
	grant := &cobra.Command{
		Use: "grant", Short: "Grant a provider (or an organization) access to your records", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.unlock(as)
			if err != nil {
				return err
			}
			gr := consent.Grant{Organization: org, Actions: splitList(actions), Purposes: splitList(purposes),
				Scope: consent.Scope{Categories: splitList(cats), ResourceTypes: splitList(types), Records: splitList(recs)}}
			if to != "" {
				if gr.Grantee, err = g.resolveID(to); err != nil {
					return err
				}
			}
			if expires != "" {
				if d, err := time.ParseDuration(expires); err == nil {
					gr.Expiry = time.Now().Add(d).UTC()
				} else if gr.Expiry, err = time.Parse(time.RFC3339, expires); err != nil {
					return fmt.Errorf("--expires: give a duration (720h) or an RFC 3339 time")
				}
			}
			if denyCats != "" || denyTypes != "" {
				gr.Deny = []consent.Deny{{Scope: consent.Scope{Categories: splitList(denyCats), ResourceTypes: splitList(denyTypes)}}}
			}
			cl, err := g.patientClient(cmd.Context(), p.ID)
			if err != nil {
				return err
			}
			id, err := cl.Grant(cmd.Context(), p, gr)
			if err != nil {
				return err
			}
			fmt.Println("granted", id)
			return nil
		},
	}
	f := grant.Flags()
	f.StringVar(&as, "as", "", "your (patient) keystore")
	f.StringVar(&to, "to", "", "grantee identity id or keystore name")
	f.StringVar(&org, "org", "", "or: every provider of this organization")
	f.StringVar(&cats, "categories", "", "categories, comma-separated (default: all)")
	f.StringVar(&types, "types", "", "resource types, comma-separated (default: all)")
	f.StringVar(&recs, "records", "", "single records, comma-separated (default: all)")
	f.StringVar(&actions, "actions", "read", "read and/or write")
	f.StringVar(&purposes, "purposes", "treatment", "purposes of use: "+strings.Join(consent.Purposes, ", "))
	f.StringVar(&expires, "expires", "", "expiry: a duration from now (720h) or an RFC 3339 time (default: none)")
	f.StringVar(&denyCats, "deny-categories", "", "deny provision: exclude these categories")
	f.StringVar(&denyTypes, "deny-types", "", "deny provision: exclude these resource types")
	return grant
}

// consentRevokeCmd is `consent revoke`.
func consentRevokeCmd(g *globals) *cobra.Command {
	var ras string
	revoke := &cobra.Command{
		Use: "revoke GRANT", Short: "Revoke a grant; rotates the category keys it shared", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.unlock(ras)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), p.ID)
			if err != nil {
				return err
			}
			if err := cl.Revoke(cmd.Context(), p, args[0]); err != nil {
				return err
			}
			if err := g.save(p, true); err != nil {
				return fmt.Errorf("revoked on the ledger, but saving the rotated category keys failed: %w", err)
			}
			fmt.Println("revoked", args[0])
			// Break-glass must reach records written under the rotated keys too.
			if cats, err := cl.ReEscrow(cmd.Context(), p); err != nil {
				return fmt.Errorf("revoked, but escrowing the new keys for emergencies failed (run `ehrchain emergency escrow`): %w", err)
			} else if len(cats) > 0 {
				fmt.Println("escrowed the new keys for emergencies:", strings.Join(cats, ", "))
			}
			return nil
		},
	}
	revoke.Flags().StringVar(&ras, "as", "", "your (patient) keystore")
	return revoke
}

// consentListCmd is `consent list`.
func consentListCmd(g *globals) *cobra.Command {
	var lp, las string
	list := &cobra.Command{
		Use: "list", Short: "List a patient's grants (all, for the patient or an auditor; a grantee sees those to it)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, err := g.resolveID(lp)
			if err != nil {
				return err
			}
			if las == "" {
				las = lp // the patient's own keystore
			}
			who, err := g.unlock(las)
			if err != nil {
				return fmt.Errorf("grants are answered only to a signed query: give --as NAME, a keystore of the patient, a grantee or an auditor: %w", err)
			}
			cl, err := g.patientClient(cmd.Context(), pid)
			if err != nil {
				return err
			}
			gs, err := cl.As(who).Grants(cmd.Context(), pid)
			if err != nil {
				return err
			}
			for _, gr := range gs {
				who := gr.Grantee
				if who == "" {
					who = "org:" + gr.Organization
				}
				state := "active"
				if gr.RevokedAt != 0 {
					state = fmt.Sprintf("revoked@%d", gr.RevokedAt)
				}
				exp := "no expiry"
				if !gr.Expiry.IsZero() {
					exp = "until " + gr.Expiry.Format(time.RFC3339)
				}
				fmt.Printf("%s\t%s\t%s\t%s for %s\tcategories=%s types=%s\t%s\n", gr.ID, state, who, strings.Join(gr.Actions, ","),
					strings.Join(gr.Purposes, ","), strings.Join(gr.Scope.Categories, ","), strings.Join(gr.Scope.ResourceTypes, ","), exp)
			}
			return nil
		},
	}
	list.Flags().StringVar(&lp, "patient", "", "patient id or keystore name")
	list.Flags().StringVar(&las, "as", "", "keystore that signs the query (default: --patient's)")
	return list
}

// consentKeysCmd is `consent keys`.
func consentKeysCmd(g *globals) *cobra.Command {
	var pas, pcats string
	publish := &cobra.Command{
		Use: "keys", Short: "Publish category keys for your records (done for the default categories at registration)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.unlock(pas)
			if err != nil {
				return err
			}
			cl, err := g.patientClient(cmd.Context(), p.ID)
			if err != nil {
				return err
			}
			n, err := cl.PublishCategories(cmd.Context(), p, splitList(pcats))
			if err != nil {
				return err
			}
			if n > 0 {
				if err := g.save(p, true); err != nil {
					return err
				}
			}
			fmt.Printf("published %d new category keys\n", n)
			return nil
		},
	}
	publish.Flags().StringVar(&pas, "as", "", "your (patient) keystore")
	publish.Flags().StringVar(&pcats, "categories", strings.Join(consent.DefaultCategories, ","), "categories")
	return publish
}
