package compress

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/oracle"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/tensor"
	"github.com/kvpack/kvpack/internal/testmodel"
)

// TestRopeMatchesModel checks that Rotate reproduces, bit for bit, the keys a
// model stores (post-RoPE) from the pre-RoPE keys its Tap reports, for both
// pairings and llama3-style frequency factors.
func TestRopeMatchesModel(t *testing.T) {
	stories := oracle.RequireModel(t, oracle.StoriesModel)
	cases := []struct {
		name string
		spec *testmodel.Spec
		want model.RopeStyle
	}{
		{"stories260K-interleaved", nil, model.RopeInterleaved},
		{"qwen2-neox", &testmodel.Spec{Arch: "qwen2", Type: tensor.F32, Seed: 2, VocabFrom: "gpt2", Pre: "qwen2", Dim: 128, FFN: 256, TiedOut: true}, model.RopeNeoX},
		{"llama-ropefreqs", &testmodel.Spec{Arch: "llama", Type: tensor.F32, Seed: 4, VocabFrom: stories, Heads: 6, KVHeads: 2, HeadDim: 32, Dim: 192, RopeFreqs: true}, model.RopeInterleaved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := stories
			if tc.spec != nil {
				spec := *tc.spec
				if spec.VocabFrom == "gpt2" {
					spec.VocabFrom = oracle.RequireModel(t, "models/SmolLM2-135M-Instruct.Q4_1.gguf")
				}
				path = filepath.Join(t.TempDir(), "m.gguf")
				if err := testmodel.Write(path, spec); err != nil {
					t.Fatal(err)
				}
			}
			m, err := model.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Config.Rope != tc.want || (tc.spec != nil && tc.spec.RopeFreqs != (m.Config.RopeFreqs != nil)) {
				t.Fatalf("model rope %v freqs %v", m.Config.Rope, m.Config.RopeFreqs != nil)
			}
			checkStoredKeys(t, m)
		})
	}
}

func checkStoredKeys(t *testing.T, m *model.Model) {
	mc := &m.Config
	_, seq := newSeq(t, mc, 8, mc.Layers*mc.KVHeads*8)
	pre := make([][]float32, mc.Layers) // [layer][T*KVHeads*HeadDim]
	pool := parallel.New(1)
	defer pool.Close()
	r := model.NewRunner(m, pool)
	r.Tap = func(l int, pos []int32, _, k []float32) { pre[l] = append(pre[l], k...) }
	const T = 40
	b := model.Batch{Tokens: make([]int32, T), Spans: []model.Span{{KV: seq, End: T}}}
	for i := range T {
		b.Tokens[i], b.Pos = int32(3+i*7%50), append(b.Pos, int32(1000+i*97)) // far positions: large angles
	}
	if err := seq.Reserve(T); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Forward(&b); err != nil {
		t.Fatal(err)
	}
	hd := mc.HeadDim
	cs, sn, got := make([]float32, mc.RopeDim/2), make([]float32, mc.RopeDim/2), make([]float32, hd)
	for l := range mc.Layers {
		for g := range mc.KVHeads {
			tab := seq.Table(l, g)
			for i := range T {
				o := (i*mc.KVHeads + g) * hd
				want := slices.Clone(pre[l][o : o+hd])
				Rotate(mc, want, b.Pos[i], cs, sn)
				if _, err := tab.Key(i, got); err != nil {
					t.Fatal(err)
				}
				for e := range hd {
					if math.Float32bits(got[e]) != math.Float32bits(want[e]) {
						t.Fatalf("layer %d kv head %d token %d dim %d: stored %g, Rotate gives %g", l, g, i, e, got[e], want[e])
					}
				}
			}
		}
	}
}

func TestQueryWindow(t *testing.T) {
	mc := testConfig(2, 2, 1, 4, model.RopeNeoX)
	w := NewQueryWindow(mc, 3)
	q := func(pos ...int32) []float32 { // query value = position, per element
		out := make([]float32, 0, len(pos)*8)
		for _, p := range pos {
			for range 8 {
				out = append(out, float32(p))
			}
		}
		return out
	}
	steps := []struct {
		pos  []int32
		want []int32
	}{
		{[]int32{0, 1}, []int32{0, 1}},
		{[]int32{2, 3, 4, 5}, []int32{3, 4, 5}},
		{[]int32{6}, []int32{4, 5, 6}},
		{[]int32{5, 6}, []int32{4, 5, 6}}, // recomputed positions replace the old ones
		{[]int32{7}, []int32{5, 6, 7}},
	}
	for i, s := range steps {
		w.Tap(1, s.pos, q(s.pos...), nil)
		pos, got := w.Rotated(1, nil, nil)
		if !slices.Equal(pos, s.want) || w.Len(0) != 0 || w.Err() != nil {
			t.Fatalf("step %d: positions %v, want %v (layer 0 holds %d, err %v)", i, pos, s.want, w.Len(0), w.Err())
		}
		cs, sn := make([]float32, 2), make([]float32, 2)
		for j, p := range pos {
			want := q(p)
			Rotate(mc, want[:4], p, cs, sn)
			Rotate(mc, want[4:], p, cs, sn)
			if !slices.Equal(got[j*8:(j+1)*8], want) {
				t.Fatalf("step %d query %d: %v, want %v", i, j, got[j*8:(j+1)*8], want)
			}
		}
	}
	if err := w.Record(5, []int32{1}, q(1)); err == nil {
		t.Fatal("bad layer accepted")
	}
	w.Tap(0, []int32{1}, q(1)[:3], nil)
	if w.Err() == nil {
		t.Fatal("short query slice accepted")
	}
	w.Reset()
	if w.Len(1) != 0 || w.Err() != nil {
		t.Fatal("Reset kept queries")
	}
}
