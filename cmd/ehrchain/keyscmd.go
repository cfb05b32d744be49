package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/keys"
)

func (g *globals) keyring() keys.Dir { return keys.Dir{Path: filepath.Join(g.home, "keys")} }

// unlock loads and decrypts a keystore by name.
func (g *globals) unlock(name string) (*keys.Keystore, error) {
	data, err := g.keyring().Load(name)
	if err != nil {
		return nil, err
	}
	pass, err := g.passphrase("keystore "+name, false)
	if err != nil {
		return nil, err
	}
	ks, err := keys.Decrypt(data, pass)
	if err != nil {
		return nil, fmt.Errorf("keystore %s: %w", name, err)
	}
	return ks, nil
}

// save encrypts and writes a keystore; replace overwrites an existing one atomically.
func (g *globals) save(ks *keys.Keystore, replace bool) error {
	pass, err := g.passphrase("keystore "+ks.Name, !replace)
	if err != nil {
		return err
	}
	data, err := keys.Encrypt(ks, pass, keys.DefaultKDF)
	if err != nil {
		return err
	}
	if replace {
		return g.keyring().Replace(ks.Name, data)
	}
	return g.keyring().Save(ks.Name, data)
}

func keysCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage passphrase-encrypted keystores in --home/keys"}
	c.AddCommand(keysAddCmd(g), keysListCmd(g), keysShowCmd(g), keysExportCmd(g), keysImportCmd(g))
	return c
}

// keysAddCmd is `keys add`.
func keysAddCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "add NAME", Short: "Generate a new identity's keys (Ed25519 + ML-KEM-768/X25519)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := keys.NewKeystore(args[0])
			if err != nil {
				return err
			}
			if err := g.save(ks, false); err != nil {
				return err
			}
			fmt.Printf("%s\t%s\n", ks.Name, ks.ID)
			return nil
		},
	}
}

// keysListCmd is `keys list`.
func keysListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List keystores", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := g.keyring().List()
			if err != nil {
				return err
			}
			for _, n := range names {
				data, err := g.keyring().Load(n)
				if err != nil {
					return err
				}
				info, err := keys.PublicInfo(data)
				if err != nil {
					fmt.Printf("%s\t(unreadable: %v)\n", n, err)
					continue
				}
				fmt.Printf("%s\t%s\n", n, info.ID)
			}
			return nil
		},
	}
}

// keysShowCmd is `keys show`.
func keysShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	show := &cobra.Command{
		Use: "show NAME", Short: "Show a keystore's identity id and public keys (no passphrase needed)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := g.keyring().Load(args[0])
			if err != nil {
				return err
			}
			info, err := keys.PublicInfo(data)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(info)
			}
			fmt.Printf("name        %s\nid          %s\nsign key    ed25519:%s\nenc key     ML-KEM-768+X25519, %d bytes, sha256 prefix %s\n",
				info.Name, info.ID, hex.EncodeToString(info.SignPublic), len(info.EncPublic), shortHash(info.EncPublic))
			return nil
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return show
}

// keysExportCmd is `keys export`.
func keysExportCmd(g *globals) *cobra.Command {
	var out string
	export := &cobra.Command{
		Use: "export NAME", Short: "Write a keystore (still encrypted) to a file, after checking its passphrase", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := g.unlock(args[0]); err != nil {
				return err
			}
			data, _ := g.keyring().Load(args[0])
			if out == "" || out == "-" {
				_, err := os.Stdout.Write(data)
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write(data)
			return err
		},
	}
	export.Flags().StringVar(&out, "out", "", "output file (refuses to overwrite; default stdout)")
	return export
}

// keysImportCmd is `keys import`.
func keysImportCmd(g *globals) *cobra.Command {
	var name string
	imp := &cobra.Command{
		Use: "import FILE", Short: "Import an exported keystore after checking its passphrase", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			pass, err := g.passphrase("the imported keystore", false)
			if err != nil {
				return err
			}
			ks, err := keys.Decrypt(data, pass)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if name != "" && name != ks.Name {
				ks.Name = name
				if data, err = keys.Encrypt(ks, pass, keys.DefaultKDF); err != nil {
					return err
				}
			}
			if err := g.keyring().Save(ks.Name, data); err != nil {
				return err
			}
			fmt.Printf("%s\t%s\n", ks.Name, ks.ID)
			return nil
		},
	}
	imp.Flags().StringVar(&name, "name", "", "store under this name instead of the one in the file")
	return imp
}

// acting is the RunE of a command that signs as the keystore named by *as: it unlocks the
// keystore (asking for its passphrase) and hands it to run.
func (g *globals) acting(as *string, run func(cmd *cobra.Command, who *keys.Keystore, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		who, err := g.unlock(*as)
		if err != nil {
			return err
		}
		return run(cmd, who, args)
	}
}
