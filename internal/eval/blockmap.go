package eval

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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

// Panel is one block map: a table's slots, one row per block.
type Panel struct {
	Title   string         // first title line, e.g. "repack: after round 2"
	Note    string         // further title lines: block and copy counts
	Snap    Snapshot       // the table's slots
	Evicted map[int32]bool // positions evicted by the round (drawn red)
	Moved   map[int32]bool // positions the compaction copied to another slot (drawn with a dot)
	Freed   int            // blocks returned to the pool, drawn hatched below the held ones
}

// Rows is the number of block rows drawn: the held blocks, then the freed ones.
func (p Panel) Rows() int { return p.Snap.Blocks() + p.Freed }

// Cell kinds of a panel.
const (
	CellKept    = iota // a surviving token, colored by position
	CellEvicted        // a token evicted by the round
	CellEmpty          // an unused slot of a held block
	CellFreed          // a slot of a block returned to the pool
)

// Cell classifies slot s of block row r and returns its position (-1 for
// empty and freed slots).
func (p Panel) Cell(r, s int) (kind int, pos int32) {
	bs := p.Snap.BlockSize
	switch i := r*bs + s; {
	case i >= len(p.Snap.Pos):
		return CellFreed, -1
	case p.Snap.Pos[i] < 0:
		return CellEmpty, -1
	case p.Evicted[p.Snap.Pos[i]]:
		return CellEvicted, p.Snap.Pos[i]
	default:
		return CellKept, p.Snap.Pos[i]
	}
}

// Blocks is the number of blocks the snapshot holds.
func (s Snapshot) Blocks() int { return len(s.Pos) / max(s.BlockSize, 1) }

// Tokens is the number of slots holding a token.
func (s Snapshot) Tokens() int {
	n := 0
	for _, p := range s.Pos {
		if p >= 0 {
			n++
		}
	}
	return n
}

// Equal reports whether two snapshots hold the same positions in the same slots.
func (s Snapshot) Equal(o Snapshot) bool {
	return s.BlockSize == o.BlockSize && s.Next == o.Next && slices.Equal(s.Pos, o.Pos)
}

// CompactionCounts summarizes one table's round under one compaction mode.
type CompactionCounts struct {
	BlocksBefore, BlocksAfter, BlocksFreed int
	TokensBefore, Evicted, Kept            int
	Copies                                 int // survivors now in a different slot (the compaction's copies)
	OrderBreaks                            int // slots after the round holding an older position than the slot before
}

// CountCompaction compares a table just before and just after a round.
func CountCompaction(before, after Snapshot) CompactionCounts {
	c := CompactionCounts{BlocksBefore: before.Blocks(), BlocksAfter: after.Blocks(),
		TokensBefore: before.Tokens(), Kept: after.Tokens()}
	c.BlocksFreed = c.BlocksBefore - c.BlocksAfter
	c.Evicted = len(EvictedBy(before, after))
	c.Copies = len(MovedBy(before, after))
	c.OrderBreaks = OrderBreaks(after)
	return c
}

// MovedBy is the set of positions held by both snapshots in different slots.
func MovedBy(before, after Snapshot) map[int32]bool {
	slot := map[int32]int{}
	for i, p := range before.Pos {
		if p >= 0 {
			slot[p] = i
		}
	}
	mv := map[int32]bool{}
	for i, p := range after.Pos {
		if j, ok := slot[p]; ok && p >= 0 && j != i {
			mv[p] = true
		}
	}
	return mv
}

// OrderBreaks counts the held slots whose position is older than the
// previous held slot's: 0 when slot order is position order.
func OrderBreaks(s Snapshot) int {
	n, prev := 0, int32(-1)
	for _, p := range s.Pos {
		if p < 0 {
			continue
		}
		if p < prev {
			n++
		}
		prev = p
	}
	return n
}

// CompactionPanels builds the before and after panels of one mode's round.
func CompactionPanels(mode string, round int, before, after Snapshot) []Panel {
	c := CountCompaction(before, after)
	order := "slot order = position order"
	if c.OrderBreaks > 0 {
		order = fmt.Sprintf("order broken at %d slots", c.OrderBreaks)
	}
	return []Panel{{
		Title:   fmt.Sprintf("%s: before round %d", mode, round),
		Note:    fmt.Sprintf("%d blocks held, %d tokens\n%d to evict (red)", c.BlocksBefore, c.TokensBefore, c.Evicted),
		Snap:    before,
		Evicted: EvictedBy(before, after),
	}, {
		Title: fmt.Sprintf("%s: after round %d", mode, round),
		Note: fmt.Sprintf("%d blocks held → %d blocks; %d freed\n%d of %d survivors copied; %s",
			c.BlocksBefore, c.BlocksAfter, c.BlocksFreed, c.Copies, c.Kept, order),
		Snap:  after,
		Moved: MovedBy(before, after),
		Freed: max(c.BlocksFreed, 0),
	}}
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

// CompactionMap is one table's round under one compaction mode.
type CompactionMap struct {
	Mode          string
	Counts        CompactionCounts
	Before, After Snapshot
}

// BlockMapResult is the block-map evaluation: the same round under each mode.
type BlockMapResult struct {
	Policy                       string
	Budget, CompressEvery, Round int
	Layer, KVHead                int
	Modes                        []CompactionMap
}

// sameStart reports whether every mode starts the round from the same table
// and evicts the same tokens.
func (r BlockMapResult) sameStart() bool {
	for _, m := range r.Modes[min(1, len(r.Modes)):] {
		a := r.Modes[0]
		if !m.Before.Equal(a.Before) || !maps.Equal(EvictedBy(m.Before, m.After), EvictedBy(a.Before, a.After)) {
			return false
		}
	}
	return true
}

// Caption is the figure's caption: setting and what the panels compare.
func (r BlockMapResult) Caption() string {
	bs, next := 0, int32(0)
	if len(r.Modes) > 0 {
		bs, next = r.Modes[0].Before.BlockSize, r.Modes[0].Before.Next
	}
	s := fmt.Sprintf("Block map of one table (layer %d, kv-head %d): %s, budget %d tokens (a round fires at %d), %d slots per block; round %d at position %d",
		r.Layer, r.KVHead, r.Policy, r.Budget, r.Budget+r.CompressEvery, bs, r.Round, next)
	s += "\nrepack: survivors slide forward in order.   holefill: earlier survivors stay put, the newest tokens' survivors fill the holes."
	if r.sameStart() {
		s += "   Both start from the same table and evict the same tokens."
	}
	return s
}

// Figure is the block-map figure: before and after panels of each mode.
func (r BlockMapResult) Figure() BlockMap {
	f := BlockMap{Caption: r.Caption()}
	for _, m := range r.Modes {
		f.Panels = append(f.Panels, CompactionPanels(m.Mode, r.Round, m.Before, m.After)...)
	}
	return f
}

// Report is the markdown body: a table of counts per mode and a reading.
func (r BlockMapResult) Report() string {
	rows := make([][]string, len(r.Modes))
	for i, m := range r.Modes {
		c := m.Counts
		rows[i] = []string{m.Mode, fmt.Sprintf("%d → %d", c.BlocksBefore, c.BlocksAfter), fmt.Sprint(c.BlocksFreed),
			fmt.Sprintf("%d → %d", c.TokensBefore, c.Kept), fmt.Sprint(c.Evicted), fmt.Sprint(c.Copies), fmt.Sprint(c.OrderBreaks)}
	}
	head := []string{"compaction", "blocks held", "blocks freed", "tokens", "evicted", "slots copied", "order breaks (slot older than the one before)"}
	return fmt.Sprintf("%s\n\n%s\n\n%s\n", strings.Join(strings.Fields(strings.ReplaceAll(r.Caption(), "\n", ". ")), " "), table(head, rows), r.reading())
}

// reading states what the counts show, in words.
func (r BlockMapResult) reading() string {
	var s []string
	if len(r.Modes) > 0 && r.sameStart() {
		c := r.Modes[0].Counts
		s = append(s, fmt.Sprintf("Both modes start from the same %d-block table and evict the same %d tokens.", c.BlocksBefore, c.Evicted))
	}
	for _, m := range r.Modes {
		c := m.Counts
		order := "kept slot order = position order (colors run dark → light down the table)"
		if c.OrderBreaks > 0 {
			order = fmt.Sprintf("broke slot order at %d slots (newer, lighter tokens sit among older, darker ones), so attention relies on each slot's stored position", c.OrderBreaks)
		}
		s = append(s, fmt.Sprintf("%s copied %d of %d survivors and %s; it freed %d of %d blocks (%d → %d tokens).",
			m.Mode, c.Copies, c.Kept, order, c.BlocksFreed, c.BlocksBefore, c.TokensBefore, c.Kept))
	}
	return strings.Join(s, " ")
}
