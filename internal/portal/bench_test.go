package portal_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ehrchain/ehrchain/internal/consent"
)

// BenchmarkRecordsPage measures the patient's records page (list, then read and decrypt
// every record, each an audited read on the ledger, then timeline, charts and HTML) against
// the same list and reads made directly with the Go client, on one real node:
//
//	go test -run '^$' -bench RecordsPage -benchtime 20x ./internal/portal
func BenchmarkRecordsPage(b *testing.B) {
	e := startEnv(b)
	n := e.synthea(b, 4)
	w := newWeb(b, strings.Replace(e.base, "localhost", "127.0.0.1", 1))
	w.enrol(e, "pat")
	pat := e.ids["pat"]
	b.Run("portal", func(b *testing.B) {
		for b.Loop() {
			resp, body := w.get("/portal/patient")
			if resp.StatusCode != 200 || strings.Count(body, `class="entry"`) != n-4 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(n), "reads/op")
	})
	b.Run("client", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			metas, err := e.cl.ListRecords(ctx, pat, pat.ID, consent.Treatment)
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for _, m := range metas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					if _, err := e.cl.ReadRecord(ctx, pat, pat.ID, m.RecordID, consent.Treatment); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(n), "reads/op")
	})
}
