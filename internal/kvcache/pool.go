package kvcache

import (
	"errors"
	"fmt"
	"sync"
)

// ErrCacheFull is returned (wrapped) when the pool cannot supply the blocks a
// request needs. The message reads "kv cache full: need N blocks, M free".
var ErrCacheFull = errors.New("kv cache full")

// ErrShared is returned (wrapped) when an operation would modify a block that
// another owner also references (prefix sharing).
var ErrShared = errors.New("kv block shared")

// Options configures a Pool. The budget is Blocks when positive, else Bytes
// (rounded down to whole blocks with BlocksForBytes).
type Options struct {
	BlockSize int   // token slots per block, MinBlockSize..MaxBlockSize; 0 means DefaultBlockSize
	DType     DType // element type of K and V
	Blocks    int   // number of blocks
	Bytes     int64 // byte budget, used when Blocks == 0
}

// Pool is a preallocated arena of fixed-size blocks. A block holds K and V
// [BlockSize][HeadDim] and positions [BlockSize] for one (layer, kv-head).
//
// Allocation order is deterministic: a fresh pool hands out ids 0, 1, 2, ...;
// freed blocks go on top of a LIFO free stack and are reused most recent
// first. Alloc and Free are O(1). Bookkeeping is guarded by a mutex, so
// sequences of different goroutines may share a pool; block contents are not
// guarded (each block has one writer: its owning sequence).
type Pool struct {
	shape Shape
	bs    int
	dtype DType
	total int

	// Arena, indexed by block id: K and V at [id*bs*hd, (id+1)*bs*hd), pos at [id*bs, (id+1)*bs).
	kf, vf []float32 // F32
	kh, vh []uint16  // F16
	pos    []int32

	mu   sync.Mutex
	ref  []int32 // reference count per block; 0 means free
	free []int32 // LIFO stack of free block ids
	peak int
}

// NewPool allocates the arena for the budget in opt.
func NewPool(shape Shape, opt Options) (*Pool, error) {
	if err := shape.validate(); err != nil {
		return nil, err
	}
	bs := opt.BlockSize
	if bs == 0 {
		bs = DefaultBlockSize
	}
	if bs < MinBlockSize || bs > MaxBlockSize {
		return nil, fmt.Errorf("kvcache: block size %d outside %d..%d", bs, MinBlockSize, MaxBlockSize)
	}
	if opt.DType != F32 && opt.DType != F16 {
		return nil, fmt.Errorf("kvcache: unsupported kv dtype %v", opt.DType)
	}
	n := opt.Blocks
	if n == 0 {
		n = BlocksForBytes(opt.Bytes, shape, bs, opt.DType)
	}
	if n <= 0 || n > 1<<31-1 || int64(n)*BlockBytes(shape, bs, opt.DType) > 1<<46 {
		return nil, fmt.Errorf("kvcache: budget gives %d blocks (blocks=%d bytes=%d)", n, opt.Blocks, opt.Bytes)
	}
	p := &Pool{shape: shape, bs: bs, dtype: opt.DType, total: n}
	elems := n * bs * shape.HeadDim
	if opt.DType == F16 {
		p.kh, p.vh = make([]uint16, elems), make([]uint16, elems)
	} else {
		p.kf, p.vf = make([]float32, elems), make([]float32, elems)
	}
	p.pos = make([]int32, n*bs)
	p.ref = make([]int32, n)
	p.free = make([]int32, n)
	for i := range p.free {
		p.free[i] = int32(n - 1 - i) // top of stack is id 0
	}
	return p, nil
}

// Shape is the geometry the pool was built for (with the default scale filled in).
func (p *Pool) Shape() Shape { return p.shape }

// BlockSize is the number of token slots per block.
func (p *Pool) BlockSize() int { return p.bs }

// DType is the element type of stored keys and values.
func (p *Pool) DType() DType { return p.dtype }

// BlockBytes is the memory of one block (K, V and positions).
func (p *Pool) BlockBytes() int64 { return BlockBytes(p.shape, p.bs, p.dtype) }

// Total is the number of blocks in the arena.
func (p *Pool) Total() int { return p.total }

// Used is the number of allocated blocks.
func (p *Pool) Used() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total - len(p.free)
}

// NumFree is the number of blocks available to Alloc.
func (p *Pool) NumFree() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// UsedBytes is Used() * BlockBytes().
func (p *Pool) UsedBytes() int64 { return int64(p.Used()) * p.BlockBytes() }

// Alloc takes one block with reference count 1.
func (p *Pool) Alloc() (int32, error) {
	var one [1]int32
	ids, err := p.AllocN(one[:0], 1)
	if err != nil {
		return -1, err
	}
	return ids[0], nil
}

// AllocN appends n blocks to dst, all or nothing: when fewer than n are free it
// allocates none and returns an error wrapping ErrCacheFull.
func (p *Pool) AllocN(dst []int32, n int) ([]int32, error) {
	if n < 0 {
		return dst, fmt.Errorf("kvcache: allocate %d blocks", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > len(p.free) {
		return dst, fmt.Errorf("%w: need %d blocks, %d free", ErrCacheFull, n, len(p.free))
	}
	for range n {
		id := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.ref[id] = 1
		dst = append(dst, id)
	}
	if used := p.total - len(p.free); used > p.peak {
		p.peak = used
	}
	return dst, nil
}

// IncRef adds an owner to an allocated block (prefix sharing).
func (p *Pool) IncRef(id int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkLive(id); err != nil {
		return fmt.Errorf("incref: %w", err)
	}
	p.ref[id]++
	return nil
}

// Free drops one reference; the block returns to the free stack when none remain.
func (p *Pool) Free(id int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkLive(id); err != nil {
		return fmt.Errorf("free: %w", err)
	}
	p.ref[id]--
	if p.ref[id] == 0 {
		p.free = append(p.free, id)
	}
	return nil
}

// Ref is the reference count of a block (0 when free or out of range).
func (p *Pool) Ref(id int32) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id < 0 || int(id) >= p.total {
		return 0
	}
	return int(p.ref[id])
}

func (p *Pool) checkLive(id int32) error {
	if id < 0 || int(id) >= p.total {
		return fmt.Errorf("kvcache: block %d outside 0..%d", id, p.total-1)
	}
	if p.ref[id] == 0 {
		return fmt.Errorf("kvcache: block %d is not allocated", id)
	}
	return nil
}

// Stats is a snapshot of pool accounting.
type Stats struct {
	BlockSize  int
	BlockBytes int64
	Total      int // blocks in the arena
	Used       int // allocated blocks
	Free       int // Total - Used
	PeakUsed   int // highest Used since creation or ResetPeak
	UsedBytes  int64
	TotalBytes int64
}

// Stats returns current accounting.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	bb := p.BlockBytes()
	used := p.total - len(p.free)
	return Stats{
		BlockSize: p.bs, BlockBytes: bb, Total: p.total, Used: used, Free: len(p.free),
		PeakUsed: p.peak, UsedBytes: int64(used) * bb, TotalBytes: int64(p.total) * bb,
	}
}

// ResetPeak sets the peak to the current use.
func (p *Pool) ResetPeak() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peak = p.total - len(p.free)
}

// checkFreeList verifies the free stack: no duplicates, only blocks with
// reference count 0, and every unreferenced block listed. p.mu must be held.
func (p *Pool) checkFreeList() error {
	seen := make([]bool, p.total)
	for _, id := range p.free {
		if id < 0 || int(id) >= p.total {
			return fmt.Errorf("kvcache: free list holds invalid block %d", id)
		}
		if seen[id] {
			return fmt.Errorf("kvcache: block %d twice in the free list", id)
		}
		if p.ref[id] != 0 {
			return fmt.Errorf("kvcache: block %d in the free list with %d references", id, p.ref[id])
		}
		seen[id] = true
	}
	for id, r := range p.ref {
		if r < 0 || (r == 0 && !seen[id]) {
			return fmt.Errorf("kvcache: block %d has %d references and is not in the free list", id, r)
		}
	}
	return nil
}
