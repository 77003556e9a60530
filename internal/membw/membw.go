// Package membw measures the machine's memory read bandwidth: the ceiling of
// a decode step, which streams every weight (and the KV cache) once per token.
package membw

import (
	"time"
	"unsafe"

	"github.com/kvpack/kvpack/internal/parallel"
)

// DefaultSize is the buffer a measurement streams: far beyond any cache.
const DefaultSize = 512 << 20

// Result is one measurement.
type Result struct {
	Threads int
	Bytes   int64   // bytes read per pass
	GBps    float64 // best pass, 1e9 bytes per second
}

// Meter owns the buffer, so repeated measurements do not pay for page faults.
type Meter struct {
	buf  []uint64
	sums []uint64 // per chunk, so the reads cannot be optimized away
	fn   func(lo, hi int)
}

// New allocates and touches a buffer of size bytes (rounded down to 8 KiB).
func New(size int) *Meter {
	n := size / 8 / 1024 * 1024
	m := &Meter{buf: make([]uint64, n)}
	for i := range m.buf {
		m.buf[i] = uint64(i)
	}
	m.fn = m.sumRange
	return m
}

// Read streams the buffer reps times on the pool's workers and returns the
// best pass.
func (m *Meter) Read(p *parallel.Pool, reps int) Result {
	r := Result{Threads: p.Workers(), Bytes: int64(len(m.buf)) * 8}
	chunks := len(m.buf) / 1024
	m.sums = make([]uint64, chunks)
	for range max(reps, 1) {
		t0 := time.Now()
		p.For(chunks, 1, m.fn)
		if s := time.Since(t0).Seconds(); s > 0 {
			r.GBps = max(r.GBps, float64(r.Bytes)/s/1e9)
		}
	}
	return r
}

// Checksum is the sum of the last pass (tests; it keeps the loads live).
func (m *Meter) Checksum() uint64 {
	var s uint64
	for _, v := range m.sums {
		s += v
	}
	return s
}

// sumRange adds up chunks [lo, hi) of 1024 words with independent
// accumulators, so the loop is limited by loads, not by an add chain.
func (m *Meter) sumRange(lo, hi int) {
	for c := lo; c < hi; c++ {
		w := (*[1024]uint64)(unsafe.Pointer(&m.buf[c*1024]))
		var a, b, d, e uint64
		for i := 0; i < 1024; i += 8 {
			a += w[i] + w[i+4]
			b += w[i+1] + w[i+5]
			d += w[i+2] + w[i+6]
			e += w[i+3] + w[i+7]
		}
		m.sums[c] = a + b + d + e
	}
}
