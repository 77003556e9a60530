package compress

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/model"
)

// QueryWindow records, per layer, the last Size() pre-RoPE queries of one
// sequence with their positions (SnapKV's and R-KV's observation window).
//
// Feed it from the runner's Tap with the sequence's own tokens only: for a
// runner that serves one sequence, set Runner.Tap = qw.Tap; in a batch of
// several sequences, call qw.Record(layer, pos[s:e], q[s*qd:e*qd]) for the
// sequence's span [s, e) (qd = Heads*HeadDim). Recording a position that is
// not newer than the last recorded one (a recomputed step) first drops the
// recorded queries at or after it.
type QueryWindow struct {
	mc   *model.Config
	size int
	qd   int
	pos  [][]int32   // [layer][n] ascending
	q    [][]float32 // [layer][n*qd]
	err  error
}

// NewQueryWindow makes a recorder of the last size queries per layer.
func NewQueryWindow(mc *model.Config, size int) *QueryWindow {
	return &QueryWindow{
		mc: mc, size: max(size, 1), qd: mc.Heads * mc.HeadDim,
		pos: make([][]int32, mc.Layers), q: make([][]float32, mc.Layers),
	}
}

// Size is the number of queries kept per layer.
func (w *QueryWindow) Size() int { return w.size }

// Len is the number of queries recorded for a layer (0 when out of range).
func (w *QueryWindow) Len(layer int) int {
	if layer < 0 || layer >= len(w.pos) {
		return 0
	}
	return len(w.pos[layer])
}

// Err is the first recording error seen by Tap (which cannot return one).
func (w *QueryWindow) Err() error { return w.err }

// Tap has model.Tap's signature: it records q (pre-RoPE, [T][Heads*HeadDim]).
func (w *QueryWindow) Tap(layer int, pos []int32, q, _ []float32) {
	if err := w.Record(layer, pos, q); err != nil && w.err == nil {
		w.err = err
	}
}

// Record appends the pre-RoPE queries q ([T][Heads*HeadDim]) at positions pos
// ([T], ascending) of a layer, keeping the last Size().
func (w *QueryWindow) Record(layer int, pos []int32, q []float32) error {
	if layer < 0 || layer >= len(w.pos) {
		return fmt.Errorf("compress: query window: layer %d outside 0..%d", layer, len(w.pos)-1)
	}
	if len(q) != len(pos)*w.qd {
		return fmt.Errorf("compress: query window: %d positions need %d query values, got %d", len(pos), len(pos)*w.qd, len(q))
	}
	if len(pos) == 0 {
		return nil
	}
	ps, qs := w.pos[layer], w.q[layer]
	for len(ps) > 0 && ps[len(ps)-1] >= pos[0] {
		ps, qs = ps[:len(ps)-1], qs[:len(qs)-w.qd]
	}
	if skip := len(pos) - w.size; skip > 0 {
		pos, q = pos[skip:], q[skip*w.qd:]
	}
	ps, qs = append(ps, pos...), append(qs, q...)
	if drop := len(ps) - w.size; drop > 0 {
		ps = append(ps[:0], ps[drop:]...)
		qs = append(qs[:0], qs[drop*w.qd:]...)
	}
	w.pos[layer], w.q[layer] = ps, qs
	return nil
}

// Rotated returns a layer's recorded queries after RoPE at their positions,
// oldest first: positions appended to dstPos and queries ([n][Heads*HeadDim])
// to dstQ, using exactly the model's rotation (so q·k equals the model's score).
// Concurrent calls are safe while nothing records.
func (w *QueryWindow) Rotated(layer int, dstPos []int32, dstQ []float32) ([]int32, []float32) {
	if layer < 0 || layer >= len(w.pos) {
		return dstPos, dstQ
	}
	hd, half := w.mc.HeadDim, w.mc.RopeDim/2
	cs, sn := make([]float32, half), make([]float32, half)
	start := len(dstQ)
	dstPos = append(dstPos, w.pos[layer]...)
	dstQ = append(dstQ, w.q[layer]...)
	for t, p := range w.pos[layer] {
		_ = RopeAngles(w.mc, p, cs, sn) // cs, sn are sized for it
		for h := range w.mc.Heads {
			o := start + t*w.qd + h*hd
			model.RotateHead(dstQ[o:o+hd], cs, sn, w.mc.Rope)
		}
	}
	return dstPos, dstQ
}

// Reset forgets every recorded query.
func (w *QueryWindow) Reset() {
	for l := range w.pos {
		w.pos[l], w.q[l] = w.pos[l][:0], w.q[l][:0]
	}
	w.err = nil
}
