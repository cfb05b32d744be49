package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehrchain/ehrchain/internal/backup"
	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/operator"
)

func init() {
	operatorRoutes["POST /v1/admin/backup"] = backupHandler
}

// backupRequest asks the running node to write a backup.
type backupRequest struct {
	Out         string `json:"out"` // absolute path of a directory that does not exist yet
	IncludeKeys bool   `json:"include_keys"`
}

// backupLine is one line of the backup endpoint's answer, a stream of JSON lines: progress
// while it copies, then the manifest or an error.
type backupLine struct {
	Done     int64            `json:"done,omitempty"`
	Total    int64            `json:"total,omitempty"`
	Manifest *backup.Manifest `json:"manifest,omitempty"`
	Error    string           `json:"error,omitempty"`
}

// holdWait bounds the search for a moment between two blocks (one comes every block).
const holdWait = time.Minute

func backupHandler(n *node.Node, home string) http.Handler {
	var running sync.Mutex // one backup at a time
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req backupRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || !filepath.IsAbs(req.Out) {
			http.Error(w, `{"log":"send {\"out\": ABSOLUTE_PATH, \"include_keys\": false}"}`, http.StatusBadRequest)
			return
		}
		if !running.TryLock() {
			http.Error(w, `{"log":"a backup is already running on this node"}`, http.StatusConflict)
			return
		}
		defer running.Unlock()
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		flush, _ := w.(http.Flusher)
		send := func(l backupLine) {
			enc.Encode(l)
			if flush != nil {
				flush.Flush()
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), holdWait)
		defer cancel()
		m, err := backup.Take(home, req.Out, backup.Options{Keys: req.IncludeKeys,
			Progress: func(done, total int64) { send(backupLine{Done: done, Total: total}) }},
			func(stage string, fn func(*node.Pause) error) error { return n.Hold(ctx, stage, fn) })
		if err != nil {
			send(backupLine{Error: err.Error()})
			return
		}
		send(backupLine{Manifest: m})
	})
}

func backupCmd(g *globals) *cobra.Command {
	var out string
	var keys, quiet bool
	c := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent backup of --home, at one committed height, into a new directory",
		Long: `Write a backup of the node in --home into --out, a directory that must not exist yet:
the application state, CometBFT's block store, consensus state and evidence, the blob store,
the portal's sign-in factors and log, the configuration and the genesis, all at one
committed height, with manifest.json listing the chain, the height, the app hash and every
file's size and SHA-256.

While the node runs, the command asks it (over the loopback operator API, with the token in
HOME/operator.token) to pause between two blocks for a moment and copy its stores; blocks go
on committing meanwhile. A stopped node is backed up directly.

The keystores (keys/) and the validator key are left out unless --include-keys is given;
such a backup must be kept as safe as the keys themselves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out DIR is required (a directory that does not exist yet)")
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			progress := progressPrinter(quiet)
			var m *backup.Manifest
			if release, lerr := node.LockHome(g.home); lerr == nil {
				release()
				m, err = backup.Take(g.home, abs, backup.Options{Keys: keys, Progress: progress},
					func(stage string, fn func(*node.Pause) error) error { return node.HoldStopped(g.home, stage, fn) })
			} else {
				m, err = onlineBackup(cmd.Context(), g, abs, keys, progress)
			}
			if !quiet {
				fmt.Fprintln(os.Stderr)
			}
			if err != nil {
				return err
			}
			var total int64
			for _, f := range m.Files {
				total += f.Size
			}
			fmt.Printf("backup of chain %s at height %d (app hash %s): %d files, %s in %s\n",
				m.ChainID, m.Height, m.AppHash, len(m.Files), byteSize(total), abs)
			if m.Keys {
				fmt.Println("it holds the keystores and the validator key: keep it as safe as the keys themselves")
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory to write the backup into (must not exist)")
	c.Flags().BoolVar(&keys, "include-keys", false, "also back up the keystores (keys/), the validator key and its sign state")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return c
}

// onlineBackup asks the node running on g.home to write the backup.
func onlineBackup(ctx context.Context, g *globals, out string, keys bool, progress backup.Progress) (*backup.Manifest, error) {
	tok, err := operator.LoadToken(g.home)
	if err != nil {
		return nil, fmt.Errorf("the node on %s is running, but its operator token cannot be read: %w", g.home, err)
	}
	base := g.client().Base
	body, _ := json.Marshal(backupRequest{Out: out, IncludeKeys: keys})
	req, err := http.NewRequestWithContext(ctx, "POST", base+operator.Prefix+"backup", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	operator.SetToken(req, tok)
	hc := &http.Client{} // no timeout: a large backup takes as long as its copy
	if g.insecure {
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the running node for a backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct{ Log string }
		if json.Unmarshal(b, &e) == nil && e.Log != "" {
			return nil, fmt.Errorf("the node refused the backup (HTTP %d): %s", resp.StatusCode, e.Log)
		}
		return nil, fmt.Errorf("the node refused the backup (HTTP %d): %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var l backupLine
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("the node's answer ended before the backup finished: %w", err)
		}
		switch {
		case l.Error != "":
			return nil, errors.New(l.Error)
		case l.Manifest != nil:
			return l.Manifest, nil
		case progress != nil:
			progress(l.Done, l.Total)
		}
	}
}

func restoreCmd(g *globals) *cobra.Command {
	var from string
	var valKey, quiet bool
	c := &cobra.Command{
		Use:   "restore",
		Short: "Check a backup's manifest and digests and restore it into a new --home",
		Long: `Restore the backup in --from into --home, which must not exist or be empty. Every file is
checked against the manifest (present, same size, same SHA-256) and the state database
against the manifest's height and app hash; a backup with a missing, truncated, altered or
added file is refused, naming the file, and nothing is written to --home.

The restored home gets a fresh validator key unless --validator-key is given: it then runs
as a full node. Restoring the validator key is only safe when the node it was backed up
from will never run again: two nodes signing with one key double-sign, and CometBFT
punishes that. See docs/OPERATIONS.md.

Check the restored home with 'ehrchain verify --home NEW', then start it; it catches up
from its peers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from DIR is required (a directory written by `ehrchain backup`)")
			}
			r, err := backup.Restore(from, g.home, backup.RestoreOptions{ValidatorKey: valKey, Progress: progressPrinter(quiet)})
			if !quiet {
				fmt.Fprintln(os.Stderr)
			}
			if err != nil {
				return err
			}
			m := r.Manifest
			fmt.Printf("restored chain %s at height %d (app hash %s) into %s\n", m.ChainID, m.Height, m.AppHash, g.home)
			if r.ValidatorKey {
				fmt.Println("WARNING: the validator key was restored. Never run the node it was backed up from again:\n"+
					"two nodes signing with one key double-sign. Its sign state is at height", m.Height, "or later.")
			} else {
				fmt.Println("the new home has a fresh validator key: it runs as a full node, never signing as the old validator")
				if m.Keys {
					fmt.Println("(the backup holds the validator key; --validator-key restores it)")
				}
			}
			if r.Keystores {
				fmt.Println("the keystores in keys/ were restored")
			}
			fmt.Printf("check it with: ehrchain verify --home %s\nthen start it: ehrchain start --home %s\n", g.home, g.home)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "backup directory written by `ehrchain backup`")
	c.Flags().BoolVar(&valKey, "validator-key", false, "restore the validator key and its sign state (the old node must never run again)")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return c
}

// progressPrinter shows bytes copied of the total on one stderr line.
func progressPrinter(quiet bool) backup.Progress {
	if quiet {
		return nil
	}
	return func(done, total int64) {
		pct := 100
		if total > 0 {
			pct = int(done * 100 / total)
		}
		fmt.Fprintf(os.Stderr, "\rcopied %s of %s (%d%%)   ", byteSize(done), byteSize(total), pct)
	}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
