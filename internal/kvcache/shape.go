// Package kvcache is kvpack's paged KV memory manager: a preallocated pool of
// fixed-size blocks, one block table per (sequence, layer, kv-head), paged
// attention with an online softmax over blocks, optional per-slot attention
// "score taps", and compaction that returns emptied tail blocks to the pool.
//
// Where a token's K/V live: block id b of the pool holds BlockSize slots of one
// (layer, kv-head); slot j of a table with block list B lives in block
// B[j/BlockSize] at offset j%BlockSize, with its absolute RoPE position stored
// next to it. Only compaction (compact.go) moves slots.
//
// The control plane (Pool, Table bookkeeping) is safe to share between
// sequences; a Sequence itself is used by one goroutine at a time.
package kvcache

import (
	"fmt"
	"math"
)

// Shape is the attention geometry of a model as the cache sees it.
type Shape struct {
	Layers  int     // transformer layers
	Heads   int     // query heads per layer
	KVHeads int     // key/value heads per layer; Heads must be a multiple
	HeadDim int     // elements per head vector
	Scale   float32 // softmax scale applied to q·k; 0 means 1/sqrt(HeadDim)
}

// GroupSize is the number of query heads that read one kv head.
func (s Shape) GroupSize() int { return s.Heads / s.KVHeads }

// validate checks the shape and fills the default scale.
func (s *Shape) validate() error {
	if s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 {
		return fmt.Errorf("kvcache: invalid shape %+v: all sizes must be positive", *s)
	}
	if s.Heads%s.KVHeads != 0 {
		return fmt.Errorf("kvcache: invalid shape: %d query heads not a multiple of %d kv heads", s.Heads, s.KVHeads)
	}
	if math.IsNaN(float64(s.Scale)) || math.IsInf(float64(s.Scale), 0) || s.Scale < 0 {
		return fmt.Errorf("kvcache: invalid shape: scale %v", s.Scale)
	}
	if s.Scale == 0 {
		s.Scale = float32(1 / math.Sqrt(float64(s.HeadDim)))
	}
	return nil
}

// DType is the element type of stored keys and values.
type DType uint8

const (
	F32 DType = iota // float32, the reference
	F16              // IEEE binary16 stored as uint16; converted exactly to float32 on read
)

// Size is the number of bytes of one element.
func (d DType) Size() int {
	if d == F16 {
		return 2
	}
	return 4
}

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case F16:
		return "f16"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// ParseDType accepts "f32" or "f16" (any case).
func ParseDType(s string) (DType, error) {
	switch s {
	case "f32", "F32":
		return F32, nil
	case "f16", "F16":
		return F16, nil
	}
	return 0, fmt.Errorf("kvcache: unknown kv dtype %q (want f32 or f16)", s)
}

// Block size limits. Only whole tail blocks can be freed, so smaller blocks
// reclaim more memory after eviction at a small bookkeeping cost.
const (
	DefaultBlockSize = 16
	MinBlockSize     = 8
	MaxBlockSize     = 128
)

// BlockBytes is the memory of one block: K and V [bs][HeadDim] of dtype plus
// bs int32 positions.
func BlockBytes(shape Shape, bs int, dtype DType) int64 {
	return int64(bs)*int64(shape.HeadDim)*2*int64(dtype.Size()) + int64(bs)*4
}

// BlocksForBytes is the number of whole blocks that fit in bytes (0 for
// invalid arguments).
func BlocksForBytes(bytes int64, shape Shape, bs int, dtype DType) int {
	per := BlockBytes(shape, bs, dtype)
	if bytes <= 0 || per <= 0 || shape.HeadDim <= 0 || bs <= 0 {
		return 0
	}
	return int(bytes / per)
}
