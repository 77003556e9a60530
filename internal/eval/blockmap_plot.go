package eval

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// BlockMap is a figure of block-map panels side by side, a caption above
// and a legend below.
type BlockMap struct {
	Caption string // one or more lines
	Panels  []Panel
}

// BlockMapPNG draws panels side by side without a caption.
func BlockMapPNG(path string, panels []Panel) error {
	return BlockMap{Panels: panels}.WritePNG(path)
}

var (
	colEvicted = color.RGBA{215, 40, 40, 255}
	colEmpty   = color.RGBA{215, 215, 215, 255}
	colHatch   = color.RGBA{150, 150, 150, 255}
	colFreedBg = color.RGBA{250, 250, 250, 255}
)

// Figure geometry (inches): width, caption and legend strips, panel overhead
// (title lines, x axis) and y-axis width per panel.
const (
	bmWidth, bmCaption, bmLegend = 16.0, 0.75, 0.95
	bmPanelExtra, bmYAxis        = 1.35, 0.8
)

// size is the figure's size and the side of one cell (roughly square cells).
func (m BlockMap) size() (w, h, cell vg.Length) {
	bs, rows := 1, 1
	for _, p := range m.Panels {
		bs, rows = max(bs, p.Snap.BlockSize), max(rows, p.Rows())
	}
	n := max(len(m.Panels), 1)
	cell = vg.Length((bmWidth/float64(n) - bmYAxis) / float64(bs))
	h = vg.Length(bmCaption+bmLegend+bmPanelExtra)*vg.Inch + vg.Length(rows)*cell*vg.Inch
	return bmWidth * vg.Inch, max(h, 4*vg.Inch), cell * vg.Inch
}

// WritePNG renders the figure to path.
func (m BlockMap) WritePNG(path string) error {
	w, h, _ := m.size()
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(100), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	lo, hi := posRange(m.Panels)
	capH, legH := vg.Length(bmCaption)*vg.Inch, vg.Length(bmLegend)*vg.Inch
	top := draw.Crop(dc, 0, 0, h-capH, 0)
	top.FillText(sansStyle(14, draw.XCenter, draw.YCenter), top.Center(), m.Caption)
	body := draw.Crop(dc, 0, 0, legH, -capH)
	tiles := draw.Tiles{Rows: 1, Cols: max(len(m.Panels), 1), PadX: 0.25 * vg.Inch, PadLeft: 0.1 * vg.Inch, PadRight: 0.2 * vg.Inch}
	rows := 0
	for _, p := range m.Panels {
		rows = max(rows, p.Rows())
	}
	for i, p := range m.Panels {
		panelPlot(p, rows, lo, hi).Draw(tiles.At(body, i, 0))
	}
	drawLegend(draw.Crop(dc, 0.3*vg.Inch, 0, 0, legH-h), lo, hi)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: block map: %w", err)
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return fmt.Errorf("eval: block map %s: %w", path, err)
	}
	return f.Close()
}

// posRange is the lowest and highest position any panel shows (the color scale).
func posRange(panels []Panel) (lo, hi int32) {
	lo, hi = -1, 0
	for _, p := range panels {
		for _, q := range p.Snap.Pos {
			if q >= 0 && (lo < 0 || q < lo) {
				lo = q
			}
			hi = max(hi, q)
		}
	}
	return max(lo, 0), hi
}

func sansStyle(size vg.Length, xa text.XAlignment, ya text.YAlignment) text.Style {
	return text.Style{Color: color.Black, Font: font.Font{Typeface: "Liberation", Variant: "Sans", Size: size},
		XAlign: xa, YAlign: ya, Handler: plot.DefaultTextHandler}
}

// viridis maps t in [0, 1] to the viridis color map (5 anchors, linear between).
func viridis(t float64) color.RGBA {
	anchors := [...][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	t = min(max(t, 0), 1) * float64(len(anchors)-1)
	i := min(int(t), len(anchors)-2)
	f := t - float64(i)
	var c [3]uint8
	for k := range c {
		c[k] = uint8(anchors[i][k] + f*(anchors[i+1][k]-anchors[i][k]) + 0.5)
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

// cellColor is the fill of a cell; kept tokens run dark (lo) to yellow (hi).
func cellColor(kind int, pos, lo, hi int32) color.RGBA {
	switch kind {
	case CellEvicted:
		return colEvicted
	case CellEmpty:
		return colEmpty
	case CellFreed:
		return colFreedBg
	}
	return viridis(float64(pos-lo) / float64(max(hi-lo, 1)))
}

// hatch returns 45° line segments spaced step apart, clipped to r.
func hatch(r vg.Rectangle, step vg.Length) [][]vg.Point {
	var segs [][]vg.Point
	for k := r.Min.Y - r.Max.X + step/2; k < r.Max.Y-r.Min.X; k += step { // lines y = x + k
		xa, xb := max(r.Min.X, r.Min.Y-k), min(r.Max.X, r.Max.Y-k)
		if xa < xb {
			segs = append(segs, []vg.Point{{X: xa, Y: xa + k}, {X: xb, Y: xb + k}})
		}
	}
	return segs
}

// fillRect fills r with col.
func fillRect(c draw.Canvas, r vg.Rectangle, col color.Color) {
	c.FillPolygon(col, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}

// hatchRect draws a freed block: light fill, gray diagonal hatching.
func hatchRect(c draw.Canvas, r vg.Rectangle) {
	fillRect(c, r, colFreedBg)
	c.StrokeLines(draw.LineStyle{Color: colHatch, Width: vg.Points(0.8)}, hatch(r, 5)...)
}

// movedDot marks a slot the compaction wrote: a black ring around white.
func movedDot(c draw.Canvas, center vg.Point, side vg.Length) {
	r := min(side*0.2, vg.Points(4))
	c.DrawGlyph(draw.GlyphStyle{Color: color.Black, Radius: r, Shape: draw.CircleGlyph{}}, center)
	c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: r * 0.6, Shape: draw.CircleGlyph{}}, center)
}

// slotGrid is a gonum plotter drawing one panel's cells: x = slot in block,
// y = block row (row 0 at the top).
type slotGrid struct {
	p      Panel
	rows   int
	lo, hi int32
}

func (g slotGrid) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, float64(max(g.p.Snap.BlockSize, 1)), 0, float64(max(g.rows, 1))
}

func (g slotGrid) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	cellRect := func(x0, x1, r0, r1 float64) vg.Rectangle {
		ya, yb := trY(r0), trY(r1)
		return vg.Rectangle{Min: vg.Point{X: trX(x0), Y: min(ya, yb)}, Max: vg.Point{X: trX(x1), Y: max(ya, yb)}}
	}
	bs, pad := g.p.Snap.BlockSize, vg.Points(0.6)
	for r := 0; r < g.p.Rows(); r++ {
		if r >= g.p.Snap.Blocks() {
			hatchRect(c, cellRect(0, float64(bs), float64(r), float64(r+1)))
			continue
		}
		for s := range bs {
			kind, pos := g.p.Cell(r, s)
			cr := cellRect(float64(s), float64(s+1), float64(r), float64(r+1))
			cr.Min.X, cr.Min.Y, cr.Max.X, cr.Max.Y = cr.Min.X+pad, cr.Min.Y+pad, cr.Max.X-pad, cr.Max.Y-pad
			fillRect(c, cr, cellColor(kind, pos, g.lo, g.hi))
			if g.p.Moved[pos] && kind == CellKept {
				movedDot(c, vg.Point{X: (cr.Min.X + cr.Max.X) / 2, Y: (cr.Min.Y + cr.Max.Y) / 2}, cr.Max.X-cr.Min.X)
			}
		}
	}
	if g.p.Freed > 0 {
		fr := cellRect(0, float64(bs), float64(g.p.Snap.Blocks()), float64(g.p.Rows()))
		c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(1)},
			[]vg.Point{fr.Min, {X: fr.Max.X, Y: fr.Min.Y}, fr.Max, {X: fr.Min.X, Y: fr.Max.Y}, fr.Min})
		label(c, vg.Point{X: (fr.Min.X + fr.Max.X) / 2, Y: (fr.Min.Y + fr.Max.Y) / 2},
			fmt.Sprintf("%d freed %s:\nreturned to the pool", g.p.Freed, plural(g.p.Freed, "block")))
	}
}

// label writes txt centered at pt on a white box.
func label(c draw.Canvas, pt vg.Point, txt string) {
	sty := sansStyle(11, draw.XCenter, draw.YCenter)
	r := sty.Rectangle(txt)
	r.Min, r.Max = r.Min.Add(pt).Sub(vg.Point{X: 4, Y: 3}), r.Max.Add(pt).Add(vg.Point{X: 4, Y: 3})
	fillRect(c, r, color.White)
	c.FillText(sty, pt, txt)
}

// panelPlot is one panel as a gonum plot with title, axes and cells.
func panelPlot(p Panel, rows int, lo, hi int32) *plot.Plot {
	plt := plot.New()
	plt.Title.Text = p.Title
	if p.Note != "" {
		plt.Title.Text += "\n" + p.Note
	}
	plt.Title.TextStyle = sansStyle(11, draw.XCenter, draw.YTop)
	plt.Title.Padding = vg.Points(4)
	bs := max(p.Snap.BlockSize, 1)
	plt.X.Label.Text, plt.Y.Label.Text = "slot in block", "block (table order)"
	plt.X.Min, plt.X.Max, plt.Y.Min, plt.Y.Max = 0, float64(bs), 0, float64(max(rows, 1))
	plt.X.Padding, plt.Y.Padding = 0, 0
	plt.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	plt.X.Tick.Marker = cellTicks(bs, max(bs/4, 1))
	plt.Y.Tick.Marker = cellTicks(max(rows, 1), max(rows/8, 1))
	for _, ax := range []*plot.Axis{&plt.X, &plt.Y} {
		ax.Label.TextStyle.Font = sansStyle(10, 0, 0).Font
		ax.Tick.Label.Font = sansStyle(9, 0, 0).Font
	}
	plt.Add(slotGrid{p: p, rows: rows, lo: lo, hi: hi})
	return plt
}

// cellTicks labels cells 0, every, 2*every, ... and the last one at their centers.
func cellTicks(n, every int) plot.ConstantTicks {
	var ts plot.ConstantTicks
	for i := 0; i < n; i++ {
		if i%every == 0 || i == n-1 {
			ts = append(ts, plot.Tick{Value: float64(i) + 0.5, Label: fmt.Sprint(i)})
		}
	}
	return ts
}

// legendItem is one legend entry: a swatch drawer, its width, and a label.
type legendItem struct {
	swatch func(c draw.Canvas, r vg.Rectangle)
	width  vg.Length
	label  string
}

func legendItems(lo, hi int32) []legendItem {
	sq := 0.22 * vg.Inch
	solid := func(col color.Color) func(draw.Canvas, vg.Rectangle) {
		return func(c draw.Canvas, r vg.Rectangle) { fillRect(c, r, col) }
	}
	return []legendItem{
		{colorBar, 1.6 * vg.Inch, fmt.Sprintf("kept token, colored by position: %d (oldest) → %d (newest)", lo, hi)},
		{solid(colEvicted), sq, "evicted by this round"},
		{solid(colEmpty), sq, "empty slot (of a held block)"},
		{hatchRect, sq, "freed block: returned to the pool"},
		{func(c draw.Canvas, r vg.Rectangle) {
			fillRect(c, r, viridis(0.5))
			movedDot(c, vg.Point{X: (r.Min.X + r.Max.X) / 2, Y: (r.Min.Y + r.Max.Y) / 2}, r.Max.X-r.Min.X)
		}, sq, "copied to another slot by this compaction"},
	}
}

// colorBar draws the position color scale in r.
func colorBar(c draw.Canvas, r vg.Rectangle) {
	const n = 64
	w := (r.Max.X - r.Min.X) / n
	for i := range n {
		x := r.Min.X + vg.Length(i)*w
		fillRect(c, vg.Rectangle{Min: vg.Point{X: x, Y: r.Min.Y}, Max: vg.Point{X: x + w + 0.5, Y: r.Max.Y}}, viridis(float64(i)/(n-1)))
	}
}

// drawLegend lays the legend items out left to right, wrapping to a second line.
func drawLegend(c draw.Canvas, lo, hi int32) {
	sty := sansStyle(11, draw.XLeft, draw.YCenter)
	sq, gap := 0.22*vg.Inch, 0.08*vg.Inch
	x, y := c.Min.X, c.Max.Y-0.3*vg.Inch
	for _, it := range legendItems(lo, hi) {
		w := it.width + gap + sty.Width(it.label) + 0.3*vg.Inch
		if x > c.Min.X && x+w > c.Max.X {
			x, y = c.Min.X, y-0.35*vg.Inch
		}
		r := vg.Rectangle{Min: vg.Point{X: x, Y: y - sq/2}, Max: vg.Point{X: x + it.width, Y: y + sq/2}}
		it.swatch(c, r)
		c.FillText(sty, vg.Point{X: r.Max.X + gap, Y: y}, it.label)
		x += w
	}
}

// plural is n's noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
