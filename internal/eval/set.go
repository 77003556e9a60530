package eval

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/model"
)

// Set runs its lanes side by side: one forward pass per step, one span per
// lane, each weight read once.
type Set struct {
	R     *model.Runner
	Lanes []*Lane
	// BeforeRound, when set, is called for a lane whose compression round is
	// due, just before it runs (block-map snapshots).
	BeforeRound func(l *Lane)

	qd       int
	spans    []model.Span
	spanLane []int // lane index of each span
	batch    model.Batch
}

// NewSet makes one lane per spec; promptLen is passed to every compressor.
func NewSet(su *Setup, promptLen int) (*Set, error) {
	s := &Set{R: model.NewRunner(su.Model, su.Pool), qd: su.Model.Config.Heads * su.Model.Config.HeadDim}
	pols := map[compress.Config]compress.Policy{}
	for _, sp := range su.Specs {
		l, err := newLane(su, sp, pols, promptLen)
		if err != nil {
			s.Release()
			return nil, err
		}
		s.Lanes = append(s.Lanes, l)
	}
	s.R.Tap = s.tap
	return s, nil
}

// Release frees every lane.
func (s *Set) Release() {
	for _, l := range s.Lanes {
		l.Release()
	}
}

// tap feeds each lane's query recorder with its own span of the batch.
func (s *Set) tap(layer int, pos []int32, q, _ []float32) {
	for i, sp := range s.spans {
		qw := s.Lanes[s.laneOf(i)].Comp.Queries()
		if qw == nil {
			continue
		}
		qw.Tap(layer, pos[sp.Start:sp.End], q[sp.Start*s.qd:sp.End*s.qd], nil)
	}
}

// laneOf maps the i-th span of the current batch to its lane index.
func (s *Set) laneOf(i int) int { return s.spanLane[i] }

// Step feeds in[i] (possibly empty: the lane sits out) to lane i at its next
// positions, runs the compression rounds that are due, and returns each
// lane's next-token logits after its last token (nil for lanes that sat out).
// The logits are only valid until the next Step.
func (s *Set) Step(in [][]int32) ([][]float32, error) {
	if len(in) != len(s.Lanes) {
		return nil, fmt.Errorf("eval: step with %d inputs for %d lanes", len(in), len(s.Lanes))
	}
	if err := s.build(in); err != nil {
		return nil, err
	}
	if len(s.batch.Tokens) == 0 {
		return make([][]float32, len(in)), nil
	}
	logits, err := s.R.Forward(&s.batch)
	if err != nil {
		return nil, fmt.Errorf("eval: forward: %w", err)
	}
	out, err := s.split(logits)
	if err != nil {
		return nil, err
	}
	return out, s.afterStep(in)
}
