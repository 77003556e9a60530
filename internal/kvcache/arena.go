package kvcache

import (
	"math"

	"github.com/kvpack/kvpack/internal/tensor"
)

// Slot-level access to the arena. Callers own the block (no locking): ids and
// offsets are valid by construction of the tables that call these.

// slotBase is the element offset of slot j of block id in the K/V arrays.
func (p *Pool) slotBase(id int32, j int) int {
	return (int(id)*p.bs + j) * p.shape.HeadDim
}

// writeSlot stores k, v ([HeadDim] each) and pos into slot j of block id.
func (p *Pool) writeSlot(id int32, j int, k, v []float32, pos int32) {
	o, hd := p.slotBase(id, j), p.shape.HeadDim
	if p.dtype == F16 {
		kd, vd := p.kh[o:o+hd], p.vh[o:o+hd]
		for e := range kd {
			kd[e] = tensor.F32ToF16(k[e])
			vd[e] = tensor.F32ToF16(v[e])
		}
	} else {
		copy(p.kf[o:o+hd], k[:hd])
		copy(p.vf[o:o+hd], v[:hd])
	}
	p.pos[int(id)*p.bs+j] = pos
}

// readSlot converts slot j of block id into k, v ([HeadDim] each) and returns its position.
func (p *Pool) readSlot(id int32, j int, k, v []float32) int32 {
	o, hd := p.slotBase(id, j), p.shape.HeadDim
	if p.dtype == F16 {
		f16ToF32(k[:hd], p.kh[o:o+hd])
		f16ToF32(v[:hd], p.vh[o:o+hd])
	} else {
		copy(k[:hd], p.kf[o:o+hd])
		copy(v[:hd], p.vf[o:o+hd])
	}
	return p.pos[int(id)*p.bs+j]
}

// readKey converts the key of slot j of block id into k and returns its position.
func (p *Pool) readKey(id int32, j int, k []float32) int32 {
	o, hd := p.slotBase(id, j), p.shape.HeadDim
	if p.dtype == F16 {
		f16ToF32(k[:hd], p.kh[o:o+hd])
	} else {
		copy(k[:hd], p.kf[o:o+hd])
	}
	return p.pos[int(id)*p.bs+j]
}

// slotPos is the position stored in slot j of block id.
func (p *Pool) slotPos(id int32, j int) int32 { return p.pos[int(id)*p.bs+j] }

// copySlot copies slot sj of block src to slot dj of block dst (K, V, position).
func (p *Pool) copySlot(dst int32, dj int, src int32, sj int) {
	d, s, hd := p.slotBase(dst, dj), p.slotBase(src, sj), p.shape.HeadDim
	if p.dtype == F16 {
		copy(p.kh[d:d+hd], p.kh[s:s+hd])
		copy(p.vh[d:d+hd], p.vh[s:s+hd])
	} else {
		copy(p.kf[d:d+hd], p.kf[s:s+hd])
		copy(p.vf[d:d+hd], p.vf[s:s+hd])
	}
	p.pos[int(dst)*p.bs+dj] = p.pos[int(src)*p.bs+sj]
}

// blockKV returns the first n slots of block id as float32 [n][HeadDim] K and
// V. F32 blocks are returned in place; F16 blocks are converted into kbuf and
// vbuf (each at least n*HeadDim long).
func (p *Pool) blockKV(id int32, n int, kbuf, vbuf []float32) (k, v []float32) {
	o, m := int(id)*p.bs*p.shape.HeadDim, n*p.shape.HeadDim
	if p.dtype == F16 {
		f16ToF32(kbuf[:m], p.kh[o:o+m])
		f16ToF32(vbuf[:m], p.vh[o:o+m])
		return kbuf[:m], vbuf[:m]
	}
	return p.kf[o : o+m], p.vf[o : o+m]
}

// blockK is blockKV for keys only.
func (p *Pool) blockK(id int32, n int, kbuf []float32) []float32 {
	o, m := int(id)*p.bs*p.shape.HeadDim, n*p.shape.HeadDim
	if p.dtype == F16 {
		f16ToF32(kbuf[:m], p.kh[o:o+m])
		return kbuf[:m]
	}
	return p.kf[o : o+m]
}

// blockPos returns the positions of the first n slots of block id.
func (p *Pool) blockPos(id int32, n int) []int32 {
	o := int(id) * p.bs
	return p.pos[o : o+n]
}

// f16ToF32 converts len(dst) binary16 values exactly. Normal numbers are
// rebiased with bit operations (no 256 KiB table traffic in the attention
// loop); zeros, subnormals, Inf and NaN take tensor.F16ToF32.
func f16ToF32(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		if e := h & 0x7c00; e != 0 && e != 0x7c00 {
			dst[i] = math.Float32frombits(uint32(h&0x8000)<<16 | (uint32(h&0x7fff)<<13 + 112<<23))
		} else {
			dst[i] = tensor.F16ToF32(h)
		}
	}
}
