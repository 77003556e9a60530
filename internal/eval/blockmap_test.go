package eval

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// A 3-block table (block size 4) holding positions 0..11; the round evicts
// 1, 2, 5 and 9. Repack slides the 8 survivors forward in order; hole-fill
// (history 0..7) keeps 0, 3, 4, 6, 7 in place and moves 8, 10, 11 into the
// holes at slots 1, 2, 5.
var (
	bmBefore   = Snapshot{BlockSize: 4, Next: 12, Pos: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}
	bmRepack   = Snapshot{BlockSize: 4, Next: 12, Pos: []int32{0, 3, 4, 6, 7, 8, 10, 11}}
	bmHoleFill = Snapshot{BlockSize: 4, Next: 12, Pos: []int32{0, 8, 10, 3, 4, 11, 6, 7}}
)

func TestCountCompaction(t *testing.T) {
	partial := Snapshot{BlockSize: 4, Next: 10, Pos: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1}}
	partialAfter := Snapshot{BlockSize: 4, Next: 10, Pos: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1}}
	for _, tc := range []struct {
		name          string
		before, after Snapshot
		want          CompactionCounts
	}{
		{"repack", bmBefore, bmRepack, CompactionCounts{BlocksBefore: 3, BlocksAfter: 2, BlocksFreed: 1,
			TokensBefore: 12, Evicted: 4, Kept: 8, Copies: 7, OrderBreaks: 0}},
		{"holefill", bmBefore, bmHoleFill, CompactionCounts{BlocksBefore: 3, BlocksAfter: 2, BlocksFreed: 1,
			TokensBefore: 12, Evicted: 4, Kept: 8, Copies: 3, OrderBreaks: 2}},
		{"no block freed", partial, partialAfter, CompactionCounts{BlocksBefore: 3, BlocksAfter: 3,
			TokensBefore: 10, Evicted: 1, Kept: 9, Copies: 9}},
		{"nothing evicted", bmRepack, bmRepack, CompactionCounts{BlocksBefore: 2, BlocksAfter: 2,
			TokensBefore: 8, Kept: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountCompaction(tc.before, tc.after); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCompactionPanels(t *testing.T) {
	ps := CompactionPanels("holefill", 2, bmBefore, bmHoleFill)
	if len(ps) != 2 || ps[0].Title != "holefill: before round 2" || ps[1].Title != "holefill: after round 2" {
		t.Fatalf("titles: %+v", ps)
	}
	if want := "3 blocks held → 2 blocks; 1 freed\n3 of 8 survivors copied; order broken at 2 slots"; ps[1].Note != want {
		t.Errorf("after note %q, want %q", ps[1].Note, want)
	}
	if r := CompactionPanels("repack", 2, bmBefore, bmRepack); !strings.Contains(r[1].Note, "slot order = position order") {
		t.Errorf("repack note %q", r[1].Note)
	}
	for _, tc := range []struct {
		panel, row, slot int
		kind             int
		pos              int32
		moved            bool
	}{
		{0, 0, 0, CellKept, 0, false},
		{0, 0, 1, CellEvicted, 1, false},
		{0, 2, 1, CellEvicted, 9, false},
		{1, 0, 1, CellKept, 8, true},
		{1, 0, 3, CellKept, 3, false},
		{1, 1, 1, CellKept, 11, true},
		{1, 2, 0, CellFreed, -1, false},
	} {
		p := ps[tc.panel]
		kind, pos := p.Cell(tc.row, tc.slot)
		if kind != tc.kind || pos != tc.pos || p.Moved[pos] != tc.moved {
			t.Errorf("panel %d cell (%d, %d): kind %d pos %d moved %v, want %d %d %v",
				tc.panel, tc.row, tc.slot, kind, pos, p.Moved[pos], tc.kind, tc.pos, tc.moved)
		}
	}
	if ps[0].Rows() != 3 || ps[1].Rows() != 3 || ps[1].Freed != 1 {
		t.Errorf("rows %d/%d, freed %d; want 3/3, 1", ps[0].Rows(), ps[1].Rows(), ps[1].Freed)
	}
	empty := Panel{Snap: Snapshot{BlockSize: 4, Pos: []int32{5, -1, -1, -1}}}
	if k, _ := empty.Cell(0, 2); k != CellEmpty {
		t.Errorf("empty slot: kind %d", k)
	}
}

func TestBlockMapReport(t *testing.T) {
	r := BlockMapResult{Policy: "p", Budget: 8, CompressEvery: 4, Round: 2, Modes: []CompactionMap{
		{Mode: "repack", Before: bmBefore, After: bmRepack, Counts: CountCompaction(bmBefore, bmRepack)},
		{Mode: "holefill", Before: bmBefore, After: bmHoleFill, Counts: CountCompaction(bmBefore, bmHoleFill)},
	}}
	md := r.Report()
	for _, want := range []string{"| repack | 3 → 2 | 1 | 12 → 8 | 4 | 7 | 0 |", "| holefill | 3 → 2 | 1 | 12 → 8 | 4 | 3 | 2 |",
		"Both modes start from the same 3-block table", "round 2 at position 12"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	r.Modes[1].Before = bmRepack // a different starting table
	if strings.Contains(r.Caption(), "same table") {
		t.Errorf("caption claims the same start: %s", r.Caption())
	}
}

func TestBlockMapDrawingHelpers(t *testing.T) {
	rect := vg.Rectangle{Min: vg.Point{X: 10, Y: 20}, Max: vg.Point{X: 50, Y: 30}}
	segs := hatch(rect, 5)
	if len(segs) != 10 {
		t.Errorf("hatch: %d segments, want 10", len(segs))
	}
	for _, s := range segs {
		for _, p := range s {
			if p.X < rect.Min.X || p.X > rect.Max.X || p.Y < rect.Min.Y || p.Y > rect.Max.Y {
				t.Errorf("hatch point %v outside %v", p, rect)
			}
		}
		if s[1].Y-s[0].Y != s[1].X-s[0].X {
			t.Errorf("hatch segment %v not at 45°", s)
		}
	}
	for _, tc := range []struct {
		t    float64
		want color.RGBA
	}{{-1, color.RGBA{68, 1, 84, 255}}, {0, color.RGBA{68, 1, 84, 255}}, {0.5, color.RGBA{33, 145, 140, 255}}, {1, color.RGBA{253, 231, 37, 255}}} {
		if got := viridis(tc.t); got != tc.want {
			t.Errorf("viridis(%g) = %v, want %v", tc.t, got, tc.want)
		}
	}
	if lo, hi := posRange([]Panel{{Snap: bmHoleFill}, {Snap: Snapshot{Pos: []int32{-1, 3}}}}); lo != 0 || hi != 11 {
		t.Errorf("posRange %d..%d, want 0..11", lo, hi)
	}
	ticks := cellTicks(10, 4)
	if len(ticks) != 4 || ticks[0].Value != 0.5 || ticks[3].Label != "9" {
		t.Errorf("cellTicks: %+v", ticks)
	}
}

func TestBlockMapPNG(t *testing.T) {
	r := BlockMapResult{Policy: "p", Budget: 8, CompressEvery: 4, Round: 2, Modes: []CompactionMap{
		{Mode: "repack", Before: bmBefore, After: bmRepack}, {Mode: "holefill", Before: bmBefore, After: bmHoleFill}}}
	path := filepath.Join(t.TempDir(), "map.png")
	if err := r.Figure().WritePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1600 || b.Dy() < 400 {
		t.Errorf("image %v, want 1600 wide", b)
	}
	red := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			if color.RGBAModel.Convert(img.At(x, y)) == colEvicted {
				red++
			}
		}
	}
	if red == 0 {
		t.Error("no evicted (red) cell drawn")
	}
}
