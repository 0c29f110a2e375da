package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// modeColors keep one colour per mode across the panels.
var modeColors = map[string]color.Color{
	"direct":  color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff},
	"floor":   color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff},
	"nginx":   color.RGBA{R: 0x2c, G: 0x7f, B: 0xb8, A: 0xff},
	"haproxy": color.RGBA{R: 0x7f, G: 0xcd, B: 0xbb, A: 0xff},
	"caddy":   color.RGBA{R: 0x41, G: 0xb6, B: 0x4c, A: 0xff},
	"gateway": color.RGBA{R: 0xe6, G: 0x55, B: 0x0d, A: 0xff},
	"before":  color.RGBA{R: 0xfd, G: 0xae, B: 0x6b, A: 0xff},
}

// chart draws four panels into a PNG: GET 1 KiB req/s, p50 latency and
// proxy CPU per request by concurrency, and MB/s of the bulk workloads, each
// as bars grouped by mode.
func (r *report) chart(file string) error {
	get1k := r.cellsOf("get1k")
	var concNames []string
	for _, c := range get1k {
		concNames = append(concNames, fmt.Sprintf("c=%d", c.Concurrency))
	}
	bulk := []*cellResult{}
	var bulkNames []string
	for _, id := range []string{"post64k-c16", "get16m", "get256m"} {
		if c := r.cell(id); c != nil {
			bulk = append(bulk, c)
			bulkNames = append(bulkNames, c.Title)
		}
	}
	panels := [][]*plot.Plot{
		{
			r.bars("GET 1 KiB: requests per second", "req/s", get1k, concNames, func(s sample) float64 { return s.ReqPerSec }),
			r.bars("GET 1 KiB: p50 latency", "µs", get1k, concNames, func(s sample) float64 { return s.P50us }),
		},
		{
			r.bars("GET 1 KiB: proxy CPU per request", "µs", get1k, concNames, func(s sample) float64 { return s.CPUus }),
			r.bars("Bodies: MB/s (POST: each way, c=16; GET: one at a time)", "MB/s", bulk, bulkNames, func(s sample) float64 { return s.MBPerSec }),
		},
	}
	const w, h = 30 * vg.Centimeter, 20 * vg.Centimeter
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: 3 * vg.Millimeter, PadBottom: 3 * vg.Millimeter, PadLeft: 3 * vg.Millimeter, PadRight: 3 * vg.Millimeter}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		for j := range panels[i] {
			panels[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bars is one panel: for each cell a group of bars, one per mode (median).
func (r *report) bars(title, unit string, cs []*cellResult, names []string, get func(sample) float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	ms := r.modes()
	const barW = 10
	top := 0.0
	for i, m := range ms {
		vs := make(plotter.Values, len(cs))
		for k, c := range cs {
			if mr := c.Modes[m]; mr != nil {
				vs[k] = get(mr.Median)
				top = max(top, vs[k])
			}
		}
		b, err := plotter.NewBarChart(vs, barW)
		if err != nil {
			continue // no values: nothing to draw
		}
		b.Color = modeColors[m]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(i)-float64(len(ms)-1)/2) * barW
		p.Add(b)
		p.Legend.Add(modeNames[m], b)
	}
	if len(names) > 0 {
		p.NominalX(names...)
	}
	p.Y.Max = top * 1.3 // room for the legend above the bars
	return p
}
