package fhir

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/ehrchain/ehrchain/internal/client"
)

// journal is the importer's local record of what it submitted: one JSON line per record
// (id and transaction hash), and a checkpoint line once everything above it is known to
// be committed. The ledger does not let a provider list a patient's records without a
// grant, so this file, not the chain, tells a second run what to skip; lines after the
// last checkpoint are checked against the chain by transaction hash (not an audited read).
type journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	done map[string]bool // record ids known committed
}

type journalLine struct {
	Record     string `json:"record,omitempty"`
	Tx         string `json:"tx,omitempty"`
	Checkpoint bool   `json:"checkpoint,omitempty"`
}

// openJournal loads path (creating it) and confirms unconfirmed lines with the node.
func openJournal(ctx context.Context, c *client.Client, path string) (*journal, error) {
	j := &journal{path: path, done: map[string]bool{}}
	if path == "" {
		return j, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	var unconfirmed []journalLine
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l journalLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue // a torn last line after a crash
			}
			if l.Checkpoint {
				for _, u := range unconfirmed {
					j.done[u.Record] = true
				}
				unconfirmed = unconfirmed[:0]
				continue
			}
			unconfirmed = append(unconfirmed, l)
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, u := range unconfirmed {
		res, err := c.Tx(ctx, u.Tx)
		var ce *client.Error
		switch {
		case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
		case err != nil:
			return nil, fmt.Errorf("check journal entry %s: %w", u.Tx, err)
		case res.Code == 0:
			j.done[u.Record] = true
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	j.f = f
	if len(unconfirmed) > 0 {
		j.checkpoint()
	}
	return j, nil
}

func (j *journal) write(l journalLine) error {
	if j.f == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.f.Write(append(b, '\n'))
	return err
}

// submitted notes a record's transaction before anything waits for it.
func (j *journal) submitted(record, txHash string) error {
	return j.write(journalLine{Record: record, Tx: txHash})
}

// checkpoint marks every line above as committed.
func (j *journal) checkpoint() error {
	if j.f == nil {
		return nil
	}
	if err := j.write(journalLine{Checkpoint: true}); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) close() {
	if j.f != nil {
		j.f.Close()
	}
}
