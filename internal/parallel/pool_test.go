package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := New(workers)
		for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {100, 3}, {1000, 64}, {5, 16}} {
			hits := make([]int32, tc.n)
			p.For(tc.n, tc.grain, func(lo, hi int) {
				if lo%tc.grain != 0 {
					t.Errorf("chunk start %d not a multiple of grain %d", lo, tc.grain)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("workers=%d n=%d grain=%d: index %d visited %d times", workers, tc.n, tc.grain, i, h)
				}
			}
		}
		p.Close()
	}
}
