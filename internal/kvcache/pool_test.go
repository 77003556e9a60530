package kvcache

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var smol = Shape{Layers: 30, Heads: 9, KVHeads: 3, HeadDim: 64}

func TestNewPoolOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shape  Shape
		opt    Options
		blocks int    // want, when err == ""
		err    string // substring of the error
	}{
		{"default block size", smol, Options{Blocks: 10}, 10, ""},
		{"bytes budget", smol, Options{BlockSize: 16, Bytes: 3 * BlockBytes(smol, 16, F32)}, 3, ""},
		{"bytes f16", smol, Options{BlockSize: 16, DType: F16, Bytes: 10*4160 + 4159}, 10, ""},
		{"block size too small", smol, Options{BlockSize: 7, Blocks: 1}, 0, "block size 7"},
		{"block size too large", smol, Options{BlockSize: 129, Blocks: 1}, 0, "block size 129"},
		{"no budget", smol, Options{}, 0, "budget gives 0 blocks"},
		{"bytes below one block", smol, Options{Bytes: 100}, 0, "budget gives 0 blocks"},
		{"bad dtype", smol, Options{DType: 9, Blocks: 1}, 0, "dtype"},
		{"zero heads", Shape{Layers: 1, KVHeads: 1, HeadDim: 4}, Options{Blocks: 1}, 0, "invalid shape"},
		{"gqa mismatch", Shape{Layers: 1, Heads: 5, KVHeads: 2, HeadDim: 4}, Options{Blocks: 1}, 0, "multiple"},
		{"negative scale", Shape{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 4, Scale: -1}, Options{Blocks: 1}, 0, "scale"},
	} {
		p, err := NewPool(tc.shape, tc.opt)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err == "" && p.Total() != tc.blocks:
			t.Errorf("%s: %d blocks, want %d", tc.name, p.Total(), tc.blocks)
		}
	}
}

func TestBlockBytes(t *testing.T) {
	for _, tc := range []struct {
		bs    int
		dt    DType
		bytes int64
	}{
		{16, F32, 16*64*2*4 + 16*4},
		{16, F16, 16*64*2*2 + 16*4},
		{8, F32, 8*64*2*4 + 8*4},
		{128, F16, 128*64*2*2 + 128*4},
	} {
		if got := BlockBytes(smol, tc.bs, tc.dt); got != tc.bytes {
			t.Errorf("bs %d %v: %d bytes, want %d", tc.bs, tc.dt, got, tc.bytes)
		}
		if got := BlocksForBytes(5*tc.bytes-1, smol, tc.bs, tc.dt); got != 4 {
			t.Errorf("bs %d %v: %d blocks for 5 blocks less a byte", tc.bs, tc.dt, got)
		}
	}
	if BlocksForBytes(-1, smol, 16, F32) != 0 || BlocksForBytes(1<<20, smol, 0, F32) != 0 {
		t.Error("invalid arguments must give 0 blocks")
	}
}

// TestPoolOrder pins the allocation order: a fresh pool hands out 0, 1, 2, ...
// and freed blocks are reused most recent first.
func TestPoolOrder(t *testing.T) {
	p := mustPool(t, smol, 16, F32, 6)
	ids, err := p.AllocN(nil, 4)
	if err != nil || fmt.Sprint(ids) != "[0 1 2 3]" {
		t.Fatalf("AllocN: %v %v", ids, err)
	}
	for _, id := range []int32{1, 3} {
		if err := p.Free(id); err != nil {
			t.Fatal(err)
		}
	}
	var got []int32
	for range 4 {
		id, err := p.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if fmt.Sprint(got) != "[3 1 4 5]" {
		t.Fatalf("reuse order %v, want [3 1 4 5]", got)
	}
	if _, err := p.Alloc(); !errors.Is(err, ErrCacheFull) || err.Error() != "kv cache full: need 1 blocks, 0 free" {
		t.Fatalf("alloc from empty pool: %v", err)
	}
	st := p.Stats()
	if st.Used != 6 || st.Free != 0 || st.PeakUsed != 6 || st.UsedBytes != 6*p.BlockBytes() {
		t.Fatalf("stats %+v", st)
	}
	if err := Audit(p); err == nil { // no sequence holds the blocks: the audit must notice
		t.Fatal("audit missed blocks held by no table")
	}
}

func TestPoolRefCounts(t *testing.T) {
	p := mustPool(t, smol, 16, F32, 2)
	id, _ := p.Alloc()
	for _, tc := range []struct {
		name string
		op   func() error
		ref  int    // reference count after the op
		err  string // substring of the error, "" for success
	}{
		{"incref", func() error { return p.IncRef(id) }, 2, ""},
		{"free shared", func() error { return p.Free(id) }, 1, ""},
		{"free last", func() error { return p.Free(id) }, 0, ""},
		{"double free", func() error { return p.Free(id) }, 0, "not allocated"},
		{"incref free block", func() error { return p.IncRef(id) }, 0, "not allocated"},
		{"free out of range", func() error { return p.Free(5) }, 0, "outside"},
		{"free negative", func() error { return p.Free(-1) }, 0, "outside"},
	} {
		err := tc.op()
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
		if r := p.Ref(id); r != tc.ref {
			t.Errorf("%s: ref %d, want %d", tc.name, r, tc.ref)
		}
	}
	if p.Used() != 0 || p.NumFree() != 2 {
		t.Fatalf("used %d free %d", p.Used(), p.NumFree())
	}
	mustAudit(t, p)
}
