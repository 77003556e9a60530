package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kvpack/kvpack/internal/kvcache"
)

// fakePool counts blocks like kvcache.Pool.
type fakePool struct{ total, used int }

// fakeKV mimics kvcache.Sequence's block accounting for `tables` tables of
// block size bs: Reserve(n) holds ceil((len+max(pending,n))/bs) blocks per
// table, all or nothing.
type fakeKV struct {
	pool               *fakePool
	tables, bs         int
	n, pending, blocks int // per table
	released           int
}

func (k *fakeKV) Reserve(n int) error {
	want := (k.n + max(k.pending, n) + k.bs - 1) / k.bs
	need := (want - k.blocks) * k.tables
	if need > k.pool.total-k.pool.used {
		return fmt.Errorf("%w: need %d blocks, %d free", kvcache.ErrCacheFull, need, k.pool.total-k.pool.used)
	}
	k.pool.used += need
	k.blocks = want
	k.pending = max(k.pending, n)
	return nil
}

func (k *fakeKV) Release() {
	k.pool.used -= k.blocks * k.tables
	k.n, k.pending, k.blocks = 0, 0, 0
	k.released++
}

// store is the fake forward pass writing n tokens.
func (k *fakeKV) store(t *testing.T, n int) {
	t.Helper()
	if n > k.pending {
		t.Fatalf("store %d tokens with %d reserved", n, k.pending)
	}
	k.n += n
	k.pending -= n
}

// harness is a scheduler over a fake pool with a fake model that emits
// token 7 for every sample.
type harness struct {
	t      *testing.T
	s      *Scheduler
	pool   *fakePool
	tables int
	bs     int
}

func newHarness(t *testing.T, budget, maxSeqs, blocks, tables, bs int) *harness {
	t.Helper()
	pool := &fakePool{total: blocks}
	s, err := NewScheduler(Config{MaxBatchTokens: budget, MaxSeqs: maxSeqs, TotalBlocks: blocks,
		BlocksFor: func(n int) int { return tables * ((n + bs - 1) / bs) }})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s, pool: pool, tables: tables, bs: bs}
}

func (h *harness) add(id uint64, prompt int) *Seq {
	h.t.Helper()
	q := &Seq{ID: id, Tokens: make([]int32, prompt), PromptLen: prompt,
		KV: &fakeKV{pool: h.pool, tables: h.tables, bs: h.bs}}
	if err := h.s.Add(q); err != nil {
		h.t.Fatal(err)
	}
	return q
}

// step schedules and "runs" one step; it returns the plan.
func (h *harness) step() Plan {
	h.t.Helper()
	p := h.s.Schedule()
	if n := p.Tokens(); n > h.s.cfg.MaxBatchTokens {
		h.t.Fatalf("step computes %d tokens, budget %d", n, h.s.cfg.MaxBatchTokens)
	}
	if h.s.Running() > h.s.cfg.MaxSeqs {
		h.t.Fatalf("%d running, max %d", h.s.Running(), h.s.cfg.MaxSeqs)
	}
	for _, w := range p.Work {
		w.Seq.KV.(*fakeKV).store(h.t, w.N)
		h.s.Advance(w)
		if w.Sample {
			w.Seq.Tokens = append(w.Seq.Tokens, 7)
		}
	}
	h.checkBlocks()
	return p
}

// checkBlocks asserts pool use == sum of the blocks every sequence holds.
func (h *harness) checkBlocks() {
	h.t.Helper()
	sum := 0
	for _, q := range append(slices.Clone(h.s.running), h.s.waiting...) {
		k := q.KV.(*fakeKV)
		sum += k.blocks * k.tables
	}
	if sum != h.pool.used {
		h.t.Fatalf("pool used %d, sequences hold %d", h.pool.used, sum)
	}
}

type workSpec struct {
	id       uint64
	start, n int
	sample   bool
}

func specs(p Plan) []workSpec {
	var out []workSpec
	for _, w := range p.Work {
		out = append(out, workSpec{w.Seq.ID, w.Start, w.N, w.Sample})
	}
	return out
}

func ids(qs []*Seq) []uint64 {
	var out []uint64
	for _, q := range qs {
		out = append(out, q.ID)
	}
	return out
}

func TestScheduleBudgetChunkingOrder(t *testing.T) {
	tests := []struct {
		name            string
		budget, maxSeqs int
		prompts         []int
		want            [][]workSpec // per step
	}{
		{"chunked prefill of one long prompt", 16, 4, []int{40}, [][]workSpec{
			{{1, 0, 16, false}}, {{1, 16, 16, false}}, {{1, 32, 8, true}}, {{1, 40, 1, true}},
		}},
		{"budget split, running before waiting", 16, 4, []int{10, 10, 3}, [][]workSpec{
			{{1, 0, 10, true}, {2, 0, 6, false}},
			{{1, 10, 1, true}, {2, 6, 4, true}, {3, 0, 3, true}},
			{{1, 11, 1, true}, {2, 10, 1, true}, {3, 3, 1, true}},
		}},
		{"max seqs holds the third back", 64, 2, []int{4, 4, 4}, [][]workSpec{
			{{1, 0, 4, true}, {2, 0, 4, true}},
			{{1, 4, 1, true}, {2, 4, 1, true}},
		}},
		{"decode tokens take budget before new prompts", 3, 4, []int{2, 2, 5}, [][]workSpec{
			{{1, 0, 2, true}, {2, 0, 1, false}},
			{{1, 2, 1, true}, {2, 1, 1, true}, {3, 0, 1, false}},
			{{1, 3, 1, true}, {2, 2, 1, true}, {3, 1, 1, false}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.budget, tc.maxSeqs, 1000, 2, 4)
			for i, n := range tc.prompts {
				h.add(uint64(i+1), n)
			}
			for i, want := range tc.want {
				if got := specs(h.step()); !slices.Equal(got, want) {
					t.Fatalf("step %d: got %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestPreemptNewestExactBlocks(t *testing.T) {
	// 1 table, block size 4, 6 blocks. Three 4-token prompts take 3 blocks.
	h := newHarness(t, 64, 8, 6, 1, 4)
	a, b, c := h.add(1, 4), h.add(2, 4), h.add(3, 4)
	h.step() // prefill all three: 1 block each
	if h.pool.used != 3 {
		t.Fatalf("after prefill: %d blocks used, want 3", h.pool.used)
	}
	h.step() // decode: each needs a 2nd block (tokens 5): 6 used
	if h.pool.used != 6 {
		t.Fatalf("after first decode: %d blocks used, want 6", h.pool.used)
	}
	for range 3 { // tokens 6..8 fit in the 2nd blocks
		h.step()
	}
	d := h.add(4, 1) // would fit after a preemption; must not be admitted in that step
	p := h.step()    // token 9 of a needs a 3rd block: preempt c (newest)
	if got := ids(p.Preempted); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("preempted %v, want [3]", got)
	}
	if len(p.Admitted) != 0 {
		t.Fatalf("admitted %v in a step that preempted", ids(p.Admitted))
	}
	if got := specs(p); !slices.Equal(got, []workSpec{{1, 8, 1, true}, {2, 8, 1, true}}) {
		t.Fatalf("work %v", got)
	}
	if h.pool.used != 6 || c.Computed != 0 || c.Preemptions != 1 || h.s.Preemptions() != 1 {
		t.Fatalf("used %d (want 6), c computed %d, preemptions %d/%d", h.pool.used, c.Computed, c.Preemptions, h.s.Preemptions())
	}
	if got := ids(h.s.waiting); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("waiting %v, want the victim first: [3 4]", got)
	}
	_, _ = a, b
	p = h.step() // a, b decode within their 3rd blocks; c cannot re-enter (needs 3 blocks, 0 free)
	if len(p.Admitted) != 0 || h.pool.used != 6 {
		t.Fatalf("admitted %v with %d used", ids(p.Admitted), h.pool.used)
	}
	h.s.Finish(b)
	if h.pool.used != 3 {
		t.Fatalf("after finishing b: %d used, want 3", h.pool.used)
	}
	p = h.step() // c recomputes all 9 known tokens (3 blocks): its chunk samples the next token
	if got := specs(p); !slices.Equal(got, []workSpec{{1, 10, 1, true}, {3, 0, 9, true}}) {
		t.Fatalf("recompute step: %v", got)
	}
	if got := ids(p.Admitted); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("admitted %v, want [3]; d (4) waits for blocks", got)
	}
	_ = d
}

func TestPreemptSelfWhenNewest(t *testing.T) {
	// 1 table, bs 4, 3 blocks; a holds 2 blocks, b holds 1 and needs a 2nd.
	h := newHarness(t, 64, 8, 3, 1, 4)
	a := h.add(1, 5)
	b := h.add(2, 4)
	h.step() // a: 2 blocks, b: 1 block
	p := h.step()
	// a decodes token 6 in its 2nd block; b needs a 2nd block: none free, b is the newest -> preempts itself.
	if got := specs(p); !slices.Equal(got, []workSpec{{1, 5, 1, true}}) {
		t.Fatalf("work %v", got)
	}
	if got := ids(p.Preempted); !slices.Equal(got, []uint64{2}) || b.Computed != 0 || h.pool.used != 2 {
		t.Fatalf("preempted %v, b computed %d, used %d", got, b.Computed, h.pool.used)
	}
	_ = a
}

func TestExhaustedAloneAndTooLarge(t *testing.T) {
	h := newHarness(t, 64, 8, 2, 1, 4)
	if err := h.s.Add(&Seq{ID: 9, Tokens: make([]int32, 9), KV: &fakeKV{pool: h.pool, tables: 1, bs: 4}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("9 tokens in 2 blocks of 4: err %v, want ErrTooLarge", err)
	}
	a := h.add(1, 8) // fits exactly; the first generated token needs a 3rd block
	h.step()
	p := h.step()
	if got := ids(p.Exhausted); !slices.Equal(got, []uint64{1}) || h.pool.used != 0 || !h.s.Empty() {
		t.Fatalf("exhausted %v, used %d, empty %v", got, h.pool.used, h.s.Empty())
	}
	_ = a
	b := h.add(2, 3) // the next request still runs
	if p := h.step(); len(p.Work) != 1 || p.Work[0].Seq != b {
		t.Fatalf("after an exhausted sequence: %v", specs(p))
	}
}

func TestAbortFreesBlocksAtOnce(t *testing.T) {
	h := newHarness(t, 64, 8, 100, 3, 4)
	a, b := h.add(1, 10), h.add(2, 6)
	c := h.add(3, 5)
	h.step()
	if h.pool.used != 3*3+3*2+3*2 {
		t.Fatalf("used %d", h.pool.used)
	}
	if !h.s.Abort(b) || h.pool.used != 3*3+3*2 {
		t.Fatalf("after abort of b: used %d, want %d", h.pool.used, 3*3+3*2)
	}
	if h.s.Abort(b) {
		t.Fatal("second abort reported b queued")
	}
	w := h.add(4, 3)
	h.s.Abort(w) // waiting: holds nothing
	h.s.Abort(a)
	h.s.Abort(c)
	if h.pool.used != 0 || !h.s.Empty() {
		t.Fatalf("used %d, empty %v", h.pool.used, h.s.Empty())
	}
}

func TestNewSchedulerRejectsBadConfig(t *testing.T) {
	bs := func(n int) int { return n }
	for _, c := range []Config{{0, 1, 1, bs}, {1, 0, 1, bs}, {1, 1, 0, bs}, {1, 1, 1, nil}} {
		if _, err := NewScheduler(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
