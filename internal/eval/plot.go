package eval

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotMemory draws KV MiB held vs generated tokens for the given series:
// a solid line per lane (blocks held with compaction) and a dashed one of
// the same color for compressed lanes ("evicted, not compacted": blocks that
// still hold a survivor). It writes a PNG to path.
func PlotMemory(series []Series, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "generated tokens (teacher-forced)"
	p.Y.Label.Text = "KV MiB held"
	p.Legend.Top, p.Legend.Left = true, true
	for i, s := range series {
		c := plotColor(i)
		if err := addLine(p, s.Steps, s.Bytes, c, false, s.Name+" (compacted)"); err != nil {
			return err
		}
		if s.Name == "full" {
			continue
		}
		if err := addLine(p, s.Steps, s.Uncompacted, c, true, s.Name+" (evicted, not compacted)"); err != nil {
			return err
		}
	}
	if err := p.Save(10*vg.Inch, 6*vg.Inch, path); err != nil {
		return fmt.Errorf("eval: save plot %s: %w", path, err)
	}
	return nil
}

func addLine(p *plot.Plot, xs []int, ys []int64, c color.Color, dashed bool, name string) error {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i].X, pts[i].Y = float64(xs[i]), float64(ys[i])/(1<<20)
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("eval: plot line %s: %w", name, err)
	}
	l.Color, l.Width = c, vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func plotColor(i int) color.Color {
	pal := []color.RGBA{{0, 0, 0, 255}, {31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
		{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {23, 190, 207, 255}}
	return pal[i%len(pal)]
}
