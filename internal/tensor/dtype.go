package tensor

import "fmt"

// typeInfo describes the block layout of one ggml type.
type typeInfo struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

var typeInfos = map[DType]typeInfo{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	Q4_0: {"Q4_0", 32, 2 + 16},
	Q4_1: {"Q4_1", 32, 2 + 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16},
	Q5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32},
	Q8_1: {"Q8_1", 32, 2 + 2 + 32},
	Q4_K: {"Q4_K", 256, 2 + 2 + 12 + 128},
	Q5_K: {"Q5_K", 256, 2 + 2 + 12 + 32 + 128},
	Q6_K: {"Q6_K", 256, 128 + 64 + 16 + 2},
	Q8_K: {"Q8_K", 256, 4 + 256 + 2*16},
}

// ggmlNames names every ggml type id, including the ones kvpack cannot run,
// so that errors can say which type a file uses.
var ggmlNames = map[DType]string{
	4: "Q4_2(removed)", 5: "Q4_3(removed)", 10: "Q2_K", 11: "Q3_K",
	16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
	22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
	29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}

// Known reports whether kvpack knows the block layout of t.
func (t DType) Known() bool { _, ok := typeInfos[t]; return ok }

// WeightType reports whether t may be used for model weights (the activation-only
// types Q8_1 and Q8_K are excluded).
func (t DType) WeightType() bool { return t.Known() && t != Q8_1 && t != Q8_K }

// String returns ggml's name of the type.
func (t DType) String() string {
	if ti, ok := typeInfos[t]; ok {
		return ti.name
	}
	if n, ok := ggmlNames[t]; ok {
		return n
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for float types).
func (t DType) BlockSize() int { return typeInfos[t].blockSize }

// BlockBytes is the number of bytes of one block.
func (t DType) BlockBytes() int { return typeInfos[t].blockBytes }

// RowBytes is the byte size of n elements; n must be a multiple of BlockSize.
func (t DType) RowBytes(n int) int {
	ti := typeInfos[t]
	if ti.blockSize == 0 {
		return 0
	}
	return n / ti.blockSize * ti.blockBytes
}

// ParseDType maps a ggml type name ("Q4_K", "f16", ...) to its id.
func ParseDType(name string) (DType, error) {
	for t, ti := range typeInfos {
		if equalFold(ti.name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 32
		}
		if 'a' <= y && y <= 'z' {
			y -= 32
		}
		if x != y {
			return false
		}
	}
	return true
}
