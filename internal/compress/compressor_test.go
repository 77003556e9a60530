package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
)

// fakePolicy scores a token by a hash of its position (and, unless shared,
// its table), quantized so that ties happen.
type fakePolicy struct {
	seed   uint64
	shared bool // same score in every layer (a per-kv-head plan)
}

func (f fakePolicy) Name() string { return "fake" }
func (f fakePolicy) Needs() Needs { return Needs{} }
func (f fakePolicy) Scores(in *Input, dst Scores) error {
	if err := checkDst(in.Seq, dst); err != nil {
		return err
	}
	for l := range dst {
		for g := range dst[l] {
			tab := in.Seq.Table(l, g)
			for i := range dst[l][g] {
				key := uint64(tab.Pos(i))<<16 | uint64(g)<<8
				if !f.shared {
					key |= uint64(l)
				}
				dst[l][g][i] = float32(rand.New(rand.NewPCG(f.seed, key)).IntN(64))
			}
		}
	}
	return nil
}

// kvRow is one stored token of one table.
type kvRow struct{ k, v []float32 }

// harness appends random tokens to a sequence and checks every round.
type harness struct {
	t      *testing.T
	mc     *model.Config
	pool   *kvcache.Pool
	seq    *kvcache.Sequence
	c      *Compressor
	cfg    Config
	rng    *rand.Rand
	shadow []map[int32]kvRow // [table] position -> stored K/V
	next   int32
	rounds int
	sum    kvcache.CompactStats
}

func (h *harness) appendTokens(T int) {
	mc, kvd, hd := h.mc, h.mc.KVHeads*h.mc.HeadDim, h.mc.HeadDim
	if err := h.seq.Reserve(T); err != nil {
		h.t.Fatal(err)
	}
	pos := make([]int32, T)
	for i := range pos {
		pos[i] = h.next + int32(i)
	}
	h.next += int32(T)
	for l := range mc.Layers {
		k, v := randVec(h.rng, T*kvd), randVec(h.rng, T*kvd)
		if err := h.seq.Store(l, pos, k, v); err != nil {
			h.t.Fatal(err)
		}
		for g := range mc.KVHeads {
			for i, p := range pos {
				o := (i*mc.KVHeads + g) * hd
				h.shadow[l*mc.KVHeads+g][p] = kvRow{k[o : o+hd], v[o : o+hd]}
			}
		}
	}
}

// step appends T tokens, runs AfterStep and checks the round.
func (h *harness) step(T int) {
	h.appendTokens(T)
	mc, bs := h.mc, h.pool.BlockSize()
	nt := mc.Layers * mc.KVHeads
	lens, blocks, due := make([]int, nt), make([]int, nt), false
	for i := range nt {
		tab := h.seq.Table(i/mc.KVHeads, i%mc.KVHeads)
		lens[i], blocks[i] = tab.Len(), tab.NumBlocks()
		due = due || lens[i] >= h.cfg.Budget+h.cfg.CompressEvery
	}
	free := h.pool.NumFree()
	r, err := h.c.AfterStep()
	if err != nil {
		h.t.Fatal(err)
	}
	if r.Fired() != due {
		h.t.Fatalf("position %d: round fired=%v, due=%v", h.next, r.Fired(), due)
	}
	if !r.Fired() {
		return
	}
	h.rounds++
	h.sum.Add(r.CompactStats)
	wantFreed, wantEvicted := 0, 0
	for i := range nt {
		tab := h.seq.Table(i/mc.KVHeads, i%mc.KVHeads)
		want := min(lens[i], h.cfg.Budget)
		if tab.Len() != want || tab.NumBlocks() != (want+bs-1)/bs {
			h.t.Fatalf("table %d: %d tokens in %d blocks, want %d in %d", i, tab.Len(), tab.NumBlocks(), want, (want+bs-1)/bs)
		}
		wantFreed += blocks[i] - tab.NumBlocks()
		wantEvicted += lens[i] - want
		h.checkTable(i, tab)
	}
	if got := h.pool.NumFree() - free; got != wantFreed || r.BlocksFreed != wantFreed || r.Evicted != wantEvicted {
		h.t.Fatalf("round at %d: pool freed %d, round reports %d blocks and %d tokens, want %d blocks and %d tokens",
			h.next, got, r.BlocksFreed, r.Evicted, wantFreed, wantEvicted)
	}
	if r.BytesFreed != int64(wantFreed)*h.pool.BlockBytes() {
		h.t.Fatalf("bytes freed %d, want %d", r.BytesFreed, int64(wantFreed)*h.pool.BlockBytes())
	}
	if err := kvcache.Audit(h.pool, h.seq); err != nil {
		h.t.Fatal(err)
	}
	h.checkAttention()
}

// checkTable compares every slot with the shadow, checks the guards and drops
// evicted tokens from the shadow.
func (h *harness) checkTable(i int, tab *kvcache.Table) {
	hd := h.mc.HeadDim
	k, v := make([]float32, hd), make([]float32, hd)
	before := h.shadow[i]
	order := make([]int32, 0, len(before))
	for p := range before {
		order = append(order, p)
	}
	slices.Sort(order)
	kept := map[int32]kvRow{}
	for s := range tab.Len() {
		p, err := tab.Slot(s, k, v)
		if err != nil {
			h.t.Fatal(err)
		}
		row, ok := before[p]
		if _, dup := kept[p]; !ok || dup || !slices.Equal(row.k, k) || !slices.Equal(row.v, v) {
			h.t.Fatalf("table %d slot %d: position %d unknown, duplicated or with other K/V", i, s, p)
		}
		kept[p] = row
	}
	for j, p := range order {
		if _, ok := kept[p]; !ok && (j < h.cfg.Sinks || j >= len(order)-h.cfg.ProtectWindow) {
			h.t.Fatalf("table %d: guarded position %d (rank %d of %d) evicted", i, p, j, len(order))
		}
	}
	h.shadow[i] = kept
}

// checkAttention compares paged attention with a dense reference over the
// shadow, for a query at the newest position and one a few tokens older.
func (h *harness) checkAttention() {
	mc := h.mc
	qd, hd, G := mc.Heads*mc.HeadDim, mc.HeadDim, mc.GroupSize()
	for l := range mc.Layers {
		pos := []int32{h.next, h.next - 5}
		q := randVec(h.rng, len(pos)*qd)
		out := make([]float32, len(q))
		h.seq.Attend(l, pos, q, out, nil)
		for t, qp := range pos {
			for hh := range mc.Heads {
				rows := h.shadow[l*mc.KVHeads+hh/G]
				want := denseAttend(f64(q[t*qd+hh*hd:t*qd+(hh+1)*hd]), rows, qp, float64(mc.AttnScale))
				for e := range hd {
					if d := math.Abs(float64(out[t*qd+hh*hd+e]) - want[e]); d > 1e-5*(1+math.Abs(want[e])) {
						h.t.Fatalf("layer %d head %d query %d: attention[%d] %g, dense %g", l, hh, t, e, out[t*qd+hh*hd+e], want[e])
					}
				}
			}
		}
	}
}

// denseAttend is softmax(scale q·k) v over rows with position <= qpos.
func denseAttend(q []float64, rows map[int32]kvRow, qpos int32, scale float64) []float64 {
	m := math.Inf(-1)
	for p, r := range rows {
		if p <= qpos {
			m = math.Max(m, dot64(q, f64(r.k))*scale)
		}
	}
	out := make([]float64, len(q))
	var sum float64
	for p, r := range rows {
		if p > qpos {
			continue
		}
		w := math.Exp(dot64(q, f64(r.k))*scale - m)
		sum += w
		for e, x := range r.v {
			out[e] += w * float64(x)
		}
	}
	for e := range out {
		out[e] /= sum
	}
	return out
}

func TestCompressorRounds(t *testing.T) {
	mc := testConfig(3, 4, 2, 8, model.RopeNeoX)
	tri, err := NewTriAttention(randomStats(mc, 5), mc, ModePerHead)
	if err != nil {
		t.Fatal(err)
	}
	triL, _ := NewTriAttention(randomStats(mc, 5), mc, ModePerLayerPerHead)
	cases := []struct {
		name   string
		pol    Policy
		cfg    Config
		shared bool // every layer keeps the same tokens per kv-head
	}{
		{"fake-per-table", fakePolicy{seed: 1}, Config{Policy: "h2o", Budget: 64, CompressEvery: 16, Sinks: 4, ProtectWindow: 8}, false},
		{"fake-shared-odd-budget", fakePolicy{seed: 2, shared: true}, Config{Policy: "h2o", Budget: 61, CompressEvery: 13, ProtectWindow: 5}, true},
		{"triattention-per-head", tri, Config{Policy: "triattention", Stats: "x", Budget: 64, CompressEvery: 16, ProtectWindow: 16}, true},
		{"triattention-per-layer-per-head", triL, Config{Policy: "triattention", Stats: "x", Budget: 64, CompressEvery: 16, ProtectWindow: 16}, false},
		{"streaming", streamingPolicy{}, Config{Policy: "streaming", Budget: 48, CompressEvery: 32}, true},
	}
	for _, tc := range cases {
		for _, mode := range []string{CompactRepack, CompactHoleFill} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				cfg := tc.cfg
				cfg.Compaction = mode
				h := runHarness(t, mc, tc.pol, cfg, 2500)
				if tc.shared {
					checkSharedPlans(t, h)
				}
			})
		}
	}
}

func runHarness(t *testing.T, mc *model.Config, pol Policy, cfg Config, tokens int) *harness {
	t.Helper()
	pool, seq := newSeq(t, mc, 8, 200)
	c, err := NewCompressor(seq, mc, pol, cfg, 20)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mc: mc, pool: pool, seq: seq, c: c, cfg: c.Config(), rng: rand.New(rand.NewPCG(3, 4))}
	h.shadow = make([]map[int32]kvRow, mc.Layers*mc.KVHeads)
	for i := range h.shadow {
		h.shadow[i] = map[int32]kvRow{}
	}
	for int(h.next) < tokens {
		T := 1
		if h.rng.IntN(8) == 0 {
			T = 1 + h.rng.IntN(7)
		}
		h.step(T)
	}
	tot := c.Totals()
	if tot.Rounds != h.rounds || tot.CompactStats != h.sum || h.rounds < tokens/(h.cfg.CompressEvery+8) {
		t.Fatalf("totals %+v over %d rounds, summed rounds %+v over %d", tot, tot.Rounds, h.sum, h.rounds)
	}
	return h
}

// checkSharedPlans verifies that every layer's table of a kv-head holds the same tokens.
func checkSharedPlans(t *testing.T, h *harness) {
	for g := range h.mc.KVHeads {
		ref := slices.Sorted(mapKeys(h.shadow[g]))
		for l := 1; l < h.mc.Layers; l++ {
			if got := slices.Sorted(mapKeys(h.shadow[l*h.mc.KVHeads+g])); !slices.Equal(got, ref) {
				t.Fatalf("kv head %d: layer %d keeps other tokens than layer 0", g, l)
			}
		}
	}
}

func mapKeys(m map[int32]kvRow) func(func(int32) bool) {
	return func(yield func(int32) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestCompressorNoneAndErrors(t *testing.T) {
	mc := testConfig(2, 4, 2, 8, model.RopeNeoX)
	_, seq := newSeq(t, mc, 8, 200)
	c, err := NewCompressor(seq, mc, nonePolicy{}, Config{Budget: 8, CompressEvery: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mc: mc, seq: seq, rng: rand.New(rand.NewPCG(1, 1)), shadow: make([]map[int32]kvRow, 4)}
	for i := range h.shadow {
		h.shadow[i] = map[int32]kvRow{}
	}
	h.appendTokens(40)
	if r, err := c.AfterStep(); err != nil || r.Fired() || seq.Table(0, 0).Len() != 40 {
		t.Fatalf("policy none compressed: %+v, %v", r, err)
	}
	bad := []struct {
		name string
		seq  *kvcache.Sequence
		mc   *model.Config
		cfg  Config
		pl   int
	}{
		{"nil sequence", nil, mc, Config{}, 0},
		{"shape mismatch", seq, testConfig(3, 4, 2, 8, model.RopeNeoX), Config{}, 0},
		{"bad config", seq, mc, Config{Policy: "h2o", Budget: 4, Sinks: 4, ProtectWindow: 4}, 0},
		{"negative prompt", seq, mc, Config{}, -1},
	}
	for _, b := range bad {
		if _, err := NewCompressor(b.seq, b.mc, nonePolicy{}, b.cfg, b.pl); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
	_, seq2 := newSeq(t, mc, 8, 200)
	c2, err := NewCompressor(seq2, mc, snapPolicy{window: 8}, Config{Policy: "snapkv", Budget: 16, CompressEvery: 4}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.seq = seq2
	h.appendTokens(30)
	if _, err := c2.AfterStep(); err == nil {
		t.Fatal("snapkv without recorded queries: no error")
	} else {
		t.Logf("expected error: %v", err)
	}
}
