package portal

import (
	"context"

	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// recallBanner is what the patient's page says of the packs dispensed to them that the
// ledger answers recalled or suspect.
type recallBanner struct {
	Alerts []recallRow
	Error  string // the check could not be made (or an answer did not verify): why
}

// recallRow is one alert as the patient reads it.
type recallRow struct {
	Medication, Lot, Serial, Record, HandedOver string
	Recalled                                    bool // else suspect
	Detail                                      string
	Height                                      int64
}

// recallBanner checks the packs of the patient's dispense records (already decrypted for
// the page) against the public verification: unsigned queries carrying only each code,
// each answer proven against the app hash. Nothing is cached: a recall published while
// the patient is signed in shows on the next page load.
func (p *Portal) recallBanner(ctx context.Context, packs []client.ChartPack) *recallBanner {
	if len(packs) == 0 {
		return nil
	}
	alerts, err := p.cl.CheckRecalls(ctx, packs)
	if err != nil {
		return &recallBanner{Error: errText(err)}
	}
	if len(alerts) == 0 {
		return nil
	}
	b := &recallBanner{}
	for _, a := range alerts {
		name := a.Medication
		if name == "" {
			name = "A medication dispensed to you"
		}
		day := a.HandedOver
		if len(day) > len("2006-01-02") {
			day = day[:len("2006-01-02")]
		}
		b.Alerts = append(b.Alerts, recallRow{Medication: name, Lot: a.Code.Lot, Serial: a.Code.Serial, Record: a.Record,
			HandedOver: day, Recalled: a.Answer.Verdict.Answer == supply.AnswerRecalled,
			Detail: a.Answer.Verdict.Detail, Height: a.Answer.Height})
	}
	return b
}
