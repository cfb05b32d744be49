package bench

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WritePNG draws the growth run as two panels: write throughput against the ledger's size
// (every fill batch), and read latency at each measured size.
func (g *GrowthReport) WritePNG(w io.Writer) error {
	writes, err := g.writePanel()
	if err != nil {
		return err
	}
	reads, err := g.readPanel()
	if err != nil {
		return err
	}
	cpu, err := g.cpuPanel()
	if err != nil {
		return err
	}
	img := vgimg.New(15*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 3, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{writes, cpu, reads}}
	canvases := plot.Align(plots, tiles, dc)
	for i, p := range plots[0] {
		p.Draw(canvases[0][i])
	}
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (g *GrowthReport) writePanel() (*plot.Plot, error) {
	p := sizePanel("Record writes as the ledger grows", "committed writes/s")
	fill := make(plotter.XYs, 0, len(g.Fill))
	for _, b := range g.Fill {
		fill = append(fill, plotter.XY{X: b.midpoint(), Y: b.TxPerSec})
	}
	probes := make(plotter.XYs, 0, len(g.Points))
	for _, pt := range g.Points {
		probes = append(probes, plotter.XY{X: float64(pt.Records), Y: pt.Write.TxPerSec})
	}
	if err := plotutil.AddLinePoints(p, "every batch", fill, "probe at each size", probes); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	p.Legend.Top = false
	return p, nil
}

// cpuPanel is the CPU time of the whole process per write and per read: on a shared
// machine it moves less with other work than the rates do.
func (g *GrowthReport) cpuPanel() (*plot.Plot, error) {
	p := sizePanel("CPU per operation as the ledger grows", "CPU µs per operation (whole process)")
	writes := make(plotter.XYs, 0, len(g.Fill))
	for _, b := range g.Fill {
		writes = append(writes, plotter.XY{X: b.midpoint(), Y: b.CPUPerTxUS})
	}
	var reads plotter.XYs
	for _, pt := range g.Points {
		reads = append(reads, plotter.XY{X: float64(pt.Records), Y: pt.Read.CPUPerTxUS})
	}
	if err := plotutil.AddLinePoints(p, "write (every batch)", writes, "audited read to plaintext", reads); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}

// midpoint is the ledger's size halfway through the batch.
func (b FillBatch) midpoint() float64 { return float64(b.From) + float64(b.Writes)/2 }

func (g *GrowthReport) readPanel() (*plot.Plot, error) {
	p := sizePanel("Audited reads to plaintext as the ledger grows", "latency, ms")
	var p50, p99 plotter.XYs
	for _, pt := range g.Points {
		p50 = append(p50, plotter.XY{X: float64(pt.Records), Y: pt.Read.P50MS})
		p99 = append(p99, plotter.XY{X: float64(pt.Records), Y: pt.Read.P99MS})
	}
	if err := plotutil.AddLinePoints(p, "p50", p50, "p99", p99); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}

// WriteTable prints the growth run for people.
func (g *GrowthReport) WriteTable(w io.Writer) error {
	m, o := g.Machine, g.Options
	fmt.Fprintf(w, "%d CPUs (%s), %s; block delay %d ms, %d actors, probe %d writes and %d reads\n\n",
		m.CPUs, m.CPUModel, m.GoVersion, o.BlockMS, o.Actors, o.Probe, o.Probe)
	fmt.Fprintln(w, "| records | write tx/s | write CPU µs/tx | write p99 ms | reads/s | read p50 ms | read p99 ms | read CPU µs | disk bytes/record |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, pt := range g.Points {
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", pt.Records,
			pt.Write.TxPerSec, pt.Write.CPUPerTxUS, pt.Write.P99MS, pt.Read.TxPerSec, pt.Read.P50MS, pt.Read.P99MS,
			pt.Read.CPUPerTxUS, pt.DiskBytesPerRecord)
	}
	if len(g.Points) > 1 {
		first, last := g.Points[0], g.Points[len(g.Points)-1]
		if first.Write.TxPerSec > 0 {
			fmt.Fprintf(w, "\nwrites at %d records: %.2f of the rate at %d (CPU per write: %.2f)\n", last.Records,
				last.Write.TxPerSec/first.Write.TxPerSec, first.Records, last.Write.CPUPerTxUS/first.Write.CPUPerTxUS)
		}
	}
	return nil
}

// sizePanel is a panel with the ledger size on a logarithmic x axis.
func sizePanel(title, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "records on the ledger"
	p.Y.Label.Text = yLabel
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	return p
}
