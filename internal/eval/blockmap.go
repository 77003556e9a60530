package eval

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

// Snapshot is the slot layout of one block table: the position held by each
// slot of each block (-1: empty slot of a held block).
type Snapshot struct {
	BlockSize int
	Pos       []int32 // [NumBlocks*BlockSize]
	Next      int32   // the sequence's next position (for token age)
}

// Snap records table (layer, kvHead) of a lane.
func Snap(l *Lane, layer, kvHead int) Snapshot {
	t := l.Seq.Table(layer, kvHead)
	bs := l.Pool.BlockSize()
	s := Snapshot{BlockSize: bs, Next: int32(l.Seq.Len()), Pos: make([]int32, t.NumBlocks()*bs)}
	held := t.Positions(nil)
	for i := range s.Pos {
		s.Pos[i] = -1
		if i < len(held) {
			s.Pos[i] = held[i]
		}
	}
	return s
}

// CaptureRound feeds text to a one-lane set (prefill chunk first, then one
// token at a time) until compression round `round` has run, and returns
// table (0, 0) just before and just after that round.
func CaptureRound(set *Set, text []int32, chunk, round int) (before, after Snapshot, err error) {
	l := set.Lanes[0]
	set.BeforeRound = func(x *Lane) {
		if x.Comp.Totals().Rounds == round-1 {
			before = Snap(x, 0, 0)
		}
	}
	defer func() { set.BeforeRound = nil }()
	for i := 0; i < len(text); {
		n := 1
		if i == 0 {
			n = min(chunk, len(text))
		}
		if _, err = set.Step(set.Same(text[i : i+n])); err != nil {
			return before, after, err
		}
		i += n
		if l.Comp.Totals().Rounds >= round {
			return before, Snap(l, 0, 0), nil
		}
	}
	return before, after, fmt.Errorf("eval: block map: round %d never ran in %d tokens", round, len(text))
}

// Panel is one block map drawn in a BlockMapPNG row.
type Panel struct {
	Snap    Snapshot
	Evicted map[int32]bool // positions to draw red (evicted by the next round)
}

// EvictedBy is the set of positions of before that after no longer holds.
func EvictedBy(before, after Snapshot) map[int32]bool {
	kept := map[int32]bool{}
	for _, p := range after.Pos {
		kept[p] = true
	}
	ev := map[int32]bool{}
	for _, p := range before.Pos {
		if p >= 0 && !kept[p] {
			ev[p] = true
		}
	}
	return ev
}

// BlockMapPNG draws panels side by side: one row per block, one cell per
// slot; empty slots light gray, evicted tokens red, kept tokens blue from
// dark (oldest) to light (newest).
func BlockMapPNG(path string, panels []Panel) error {
	const cell, gap = 6, 24
	bs, rows := 1, 0
	for _, p := range panels {
		bs, rows = max(bs, p.Snap.BlockSize), max(rows, len(p.Snap.Pos)/max(p.Snap.BlockSize, 1))
	}
	w, h := len(panels)*(bs*cell+gap)+gap, rows*cell+2*gap
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	for i, p := range panels {
		x0 := gap + i*(bs*cell+gap)
		for s, pos := range p.Snap.Pos {
			r := image.Rect(x0+(s%bs)*cell, gap+(s/bs)*cell, x0+(s%bs+1)*cell-1, gap+(s/bs+1)*cell-1)
			fill(img, r, slotColor(pos, p))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: block map: %w", err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("eval: block map %s: %w", path, err)
	}
	return f.Close()
}

func slotColor(pos int32, p Panel) color.RGBA {
	switch {
	case pos < 0:
		return color.RGBA{225, 225, 225, 255}
	case p.Evicted[pos]:
		return color.RGBA{215, 40, 40, 255}
	}
	a := float64(pos) / float64(max(p.Snap.Next, 1)) // 0 oldest .. 1 newest
	return color.RGBA{uint8(20 + 160*a), uint8(40 + 170*a), uint8(110 + 140*a), 255}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}
