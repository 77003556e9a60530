package compress

import "github.com/kvpack/kvpack/internal/model"

// nonePolicy never compresses: the Compressor of a "none" policy never fires,
// and its scores (all zero) are never used. Defaults: no guards.
type nonePolicy struct{}

func newNone(Config, *model.Config) (Policy, error) { return nonePolicy{}, nil }

func (nonePolicy) Name() string { return "none" }
func (nonePolicy) Needs() Needs { return Needs{} }

// Scores zeroes dst.
func (nonePolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	for _, layer := range dst {
		for _, s := range layer {
			clear(s)
		}
	}
	return nil
}
