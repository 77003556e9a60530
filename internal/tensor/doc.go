// Package tensor holds the element types of GGUF tensors (F32, F16, BF16 and the
// ggml block-quantized formats) and the kernels that consume them: dequantization,
// quantization (reference quantizers used by tests and the tiny-model writer), and
// dot products / matrix-vector products against float32 activations.
//
// Layout contract: a tensor row of n elements of type t occupies t.RowBytes(n)
// bytes; n must be a multiple of t.BlockSize(). Block layouts and the numeric
// recipes follow ggml exactly (same scales, same rounding), so that results match
// llama.cpp. As in llama.cpp, quantized weight rows are multiplied against
// activations that are first quantized to the matching "vec dot" type
// (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants, F16 for F16,
// BF16 for BF16, F32 for F32).
package tensor

// DType is a ggml tensor type id as stored in GGUF files.
type DType uint32

// The ggml type ids supported by kvpack (values are the on-disk ids).
const (
	F32  DType = 0
	F16  DType = 1
	Q4_0 DType = 2
	Q4_1 DType = 3
	Q5_0 DType = 6
	Q5_1 DType = 7
	Q8_0 DType = 8
	Q8_1 DType = 9
	Q4_K DType = 12
	Q5_K DType = 13
	Q6_K DType = 14
	Q8_K DType = 15
	BF16 DType = 30
)
