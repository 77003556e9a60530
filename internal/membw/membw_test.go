package membw

import (
	"testing"

	"github.com/kvpack/kvpack/internal/parallel"
)

func TestReadCoversEveryWord(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		p := parallel.New(threads)
		m := New(3 << 16) // 24 chunks of 1024 words
		r := m.Read(p, 2)
		p.Close()
		n := uint64(len(m.buf))
		if want := n * (n - 1) / 2; m.Checksum() != want {
			t.Fatalf("threads %d: checksum %d, want %d", threads, m.Checksum(), want)
		}
		if r.Bytes != int64(n)*8 || r.Threads != threads || r.GBps <= 0 {
			t.Fatalf("threads %d: result %+v", threads, r)
		}
	}
}

// BenchmarkSumCached is the loop's compute ceiling (a buffer in L2): it must
// be well above the DRAM figure for Read to measure memory, not the loop.
func BenchmarkSumCached(b *testing.B) {
	p := parallel.New(1)
	defer p.Close()
	m := New(256 << 10)
	b.SetBytes(int64(len(m.buf)) * 8)
	for b.Loop() {
		m.Read(p, 1)
	}
}

func BenchmarkSumDRAM(b *testing.B) {
	p := parallel.New(1)
	defer p.Close()
	m := New(DefaultSize)
	b.SetBytes(int64(len(m.buf)) * 8)
	b.ResetTimer()
	for b.Loop() {
		m.Read(p, 1)
	}
}
