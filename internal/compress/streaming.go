package compress

import "github.com/kvpack/kvpack/internal/model"

// streamingPolicy is StreamingLLM (Xiao, Tian, Chen, Han, Lewis: "Efficient
// Streaming Language Models with Attention Sinks", ICLR 2024): keep the first
// few tokens (attention sinks) and the most recent ones. The score of a token
// is its position, so after the sink guard the budget goes to the newest
// tokens. Defaults: Sinks 4, ProtectWindow 8 (immaterial: recency wins anyway).
// Needs nothing from the kernel.
type streamingPolicy struct{}

func newStreaming(Config, *model.Config) (Policy, error) { return streamingPolicy{}, nil }

func (streamingPolicy) Name() string { return "streaming" }
func (streamingPolicy) Needs() Needs { return Needs{} }

// Scores sets every slot's score to its position.
func (streamingPolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	return eachTable(in, func(l, g int) error {
		t := in.Seq.Table(l, g)
		for i := range dst[l][g] {
			dst[l][g][i] = float32(t.Pos(i))
		}
		return nil
	})
}
