package compress

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/model"
)

// h2oPolicy is H2O, Heavy-Hitter Oracle (Zhang et al.: "H2O: Heavy-Hitter
// Oracle for Efficient Generative Inference of Large Language Models",
// NeurIPS 2023): a token's score is the attention mass it has received,
// accumulated over every query so far and summed over the kv-head's query
// heads. The mass comes from the kernel's score taps (Table.Mass), so no
// score matrix is materialized. Defaults: ProtectWindow 8, no sinks (the
// TriAttention repository's pre-release baseline kept only the last token;
// the original paper splits the budget between heavy hitters and recent tokens).
type h2oPolicy struct{}

func newH2O(Config, *model.Config) (Policy, error) { return h2oPolicy{}, nil }

func (h2oPolicy) Name() string { return "h2o" }
func (h2oPolicy) Needs() Needs { return Needs{Mass: true} }

// Scores copies each table's cumulative attention mass.
func (h2oPolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	return eachTable(in, func(l, g int) error {
		m := in.Seq.Table(l, g).Mass()
		if m == nil {
			return fmt.Errorf("h2o: attention-mass taps are off (Sequence.EnableTaps(true))")
		}
		copy(dst[l][g], m)
		return nil
	})
}
