package compress

import (
	"fmt"

	"github.com/kvpack/kvpack/internal/model"
)

// tovaPolicy is TOVA, Token Omission Via Attention (Oren, Hassid, Yarden, Adi,
// Schwartz: "Transformers are Multi-State RNNs", EMNLP 2024): a token's score
// is the attention the latest query gives it, averaged over the kv-head's
// query heads (Sequence.LastAttention, recorded by the kernel). Defaults:
// ProtectWindow 8, no sinks.
type tovaPolicy struct{}

func newTOVA(Config, *model.Config) (Policy, error) { return tovaPolicy{}, nil }

func (tovaPolicy) Name() string { return "tova" }
func (tovaPolicy) Needs() Needs { return Needs{LastAttention: true} }

// Scores copies each table's last-query attention.
func (tovaPolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	return eachTable(in, func(l, g int) error {
		a := in.Seq.LastAttention(l, g)
		if a == nil {
			return fmt.Errorf("tova: last-query taps are off (Sequence.EnableLastAttention(true))")
		}
		copy(dst[l][g], a)
		return nil
	})
}
