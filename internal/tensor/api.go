package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// checkRow validates a row of n elements of type t stored in nbytes bytes.
func checkRow(t DType, nbytes, n int) error {
	if !t.Known() {
		return fmt.Errorf("tensor: unsupported type %v", t)
	}
	if bs := t.BlockSize(); n%bs != 0 {
		return fmt.Errorf("tensor: %d elements is not a multiple of the %v block size %d", n, t, bs)
	}
	if need := t.RowBytes(n); nbytes < need {
		return fmt.Errorf("tensor: %v row of %d elements needs %d bytes, have %d", t, n, need, nbytes)
	}
	return nil
}

// DequantizeRow decodes n = len(dst) elements of type t from src (at least
// t.RowBytes(n) bytes) into dst. Every known type is accepted, including the
// activation types Q8_1 and Q8_K. It returns an error, never panics, on an
// unknown type or a size mismatch.
func DequantizeRow(t DType, src []byte, dst []float32) error {
	if err := checkRow(t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = halfAt(src[2*i:])
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		dequantizeQ4_0(src, dst)
	case Q4_1:
		dequantizeQ4_1(src, dst)
	case Q5_0:
		dequantizeQ5_0(src, dst)
	case Q5_1:
		dequantizeQ5_1(src, dst)
	case Q8_0:
		dequantizeQ8(src, dst, 34, 2)
	case Q8_1:
		dequantizeQ8(src, dst, 36, 4)
	case Q4_K:
		dequantizeQ4K(src, dst)
	case Q5_K:
		dequantizeQ5K(src, dst)
	case Q6_K:
		dequantizeQ6K(src, dst)
	case Q8_K:
		dequantizeQ8K(src, dst)
	}
	return nil
}

// QuantizeRow encodes len(src) elements into dst (at least t.RowBytes(len(src))
// bytes) with ggml's reference quantizer for t (quantize_row_*_ref: no
// importance matrix), or a plain conversion for F32/F16/BF16.
func QuantizeRow(t DType, src []float32, dst []byte) error {
	if err := checkRow(t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
	case Q4_0:
		quantizeQ4_0(src, dst)
	case Q4_1:
		quantizeQ4_1(src, dst)
	case Q5_0:
		quantizeQ5_0(src, dst)
	case Q5_1:
		quantizeQ5_1(src, dst)
	case Q8_0:
		quantizeQ8(src, dst, false)
	case Q8_1:
		quantizeQ8(src, dst, true)
	case Q4_K:
		quantizeQ4K(src, dst)
	case Q5_K:
		quantizeQ5K(src, dst)
	case Q6_K:
		quantizeQ6K(src, dst)
	case Q8_K:
		quantizeQ8K(src, dst)
	}
	return nil
}

// VecDotType is the type llama.cpp quantizes activations to before a dot
// product with weights of type t (ggml's vec_dot_type). Types without a vec
// dot (Q8_1, Q8_K, unknown ids) map to themselves.
func VecDotType(t DType) DType {
	switch t {
	case Q4_0, Q5_0, Q8_0:
		return Q8_0
	case Q4_1, Q5_1:
		return Q8_1
	case Q4_K, Q5_K, Q6_K:
		return Q8_K
	}
	return t
}

// HasVecDot reports whether VecDot and MatVec accept weights of type t.
func HasVecDot(t DType) bool {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K:
		return true
	}
	return false
}

// QuantizeActivations quantizes the activation vector x to VecDotType(t) and
// returns buf[:VecDotType(t).RowBytes(len(x))], reallocating buf only when it
// is too small. len(x) must be a multiple of the block size of
// VecDotType(t) (256 for the K-quants, 32 for the legacy quants); a violation
// is a programming error and panics.
func QuantizeActivations(t DType, x []float32, buf []byte) []byte {
	vt := VecDotType(t)
	if !vt.Known() || len(x)%vt.BlockSize() != 0 {
		panic(fmt.Sprintf("tensor: QuantizeActivations: %d elements for %v activations (%v)", len(x), vt, t))
	}
	need := vt.RowBytes(len(x))
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	_ = QuantizeRow(vt, x, buf) // cannot fail: type and sizes checked above
	return buf
}

// VecDot returns the dot product of one weight row w (n elements of type t)
// with activations x already quantized to VecDotType(t). It prepares x on
// every call, which costs about as much as the dot itself: loops over rows
// should call MatVec or MatMul, which prepare it once. Preconditions
// (programming errors, they panic): HasVecDot(t), n a multiple of the block
// size, len(w) >= t.RowBytes(n), len(x) >= VecDotType(t).RowBytes(n).
func VecDot(t DType, n int, w []byte, x []byte) float32 {
	var out [1]float32
	MatVec(t, w, 1, n, x, out[:])
	return out[0]
}
