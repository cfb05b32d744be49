package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// maxLotPages bounds how many pages one lot trace follows.
const maxLotPages = 1000

// traceLot prints every pack of lot lotNumber of gtin that who may trace, page by page,
// each page verified offline against appHash (or the node's at the page's height).
func traceLot(ctx context.Context, out io.Writer, cl *client.Client, who *keys.Keystore, gtin, lotNumber, appHash string, asJSON bool) error {
	after, packs := "", 0
	var lot string
	for pages := 1; ; pages++ {
		var tr *wire.LotTraceResponse
		trusted, err := trustedAppHash(ctx, cl, appHash, func() (int64, error) {
			var err error
			tr, err = cl.As(who).LotTrace(ctx, gtin, lotNumber, after, 0)
			if err != nil {
				return 0, err
			}
			return tr.Height, nil
		})
		if err != nil {
			return err
		}
		if err := tr.Verify(trusted); err != nil {
			return fmt.Errorf("the trace of lot %s does not verify against app hash %X: %w", tr.Lot, trusted, err)
		}
		if asJSON {
			if err := indentJSON(out, tr); err != nil {
				return err
			}
		} else {
			if pages == 1 {
				status := "no lot record (never recalled)"
				switch r := tr.Record; {
				case r == nil:
					status = "lot record not shown (not in your custody; its recall status is public: epcis verify)"
				case r.Item != nil:
					status = r.Item.Status + map[bool]string{true: " QUARANTINED"}[r.Item.Quarantined]
				}
				fmt.Fprintf(out, "lot %s: %s\n", tr.Lot, status)
			}
			for i := range tr.Packs {
				fmt.Fprintln(out, packLine(&tr.Packs[i]))
			}
		}
		packs += len(tr.Packs)
		lot = tr.Lot
		if tr.Next == "" {
			if !asJSON {
				fmt.Fprintf(out, "verified: %d packs of lot %s in %d pages, the last at height %d against app hash %X\n", packs, lot, pages, tr.Height, trusted)
			}
			return nil
		}
		if pages == maxLotPages {
			return fmt.Errorf("stopped after %d pages; go on after %s", pages, tr.Next)
		}
		after = tr.Next
	}
}

// packLine is one pack of a lot trace: identifier, status, owner, custody, the units it
// is in (innermost first) and where it was last seen.
func packLine(p *wire.ProvenPack) string {
	it := p.Item.Item
	line := fmt.Sprintf("%s %s owner %s custody %s", it.ID, it.Status, orDash(it.Owner), strings.Join(it.Custody, ","))
	if it.Quarantined {
		line += " QUARANTINED"
	}
	for _, u := range p.Within {
		line += " in " + u.Item.ID
	}
	if ev := p.Where(); ev != nil {
		var e struct {
			Type, BizStep, Action, EventTime string
			BizLocation                      struct{ ID string }
			ReadPoint                        struct{ ID string }
		}
		json.Unmarshal(ev.Event, &e)
		line += fmt.Sprintf(" last %s at %s %s", cmp.Or(e.BizStep, e.Action), orDash(cmp.Or(e.BizLocation.ID, e.ReadPoint.ID)), e.EventTime)
	}
	return line
}
