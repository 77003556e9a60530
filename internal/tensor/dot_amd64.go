//go:build amd64 && !purego

package tensor

import "os"

// AVX2 kernels for the legacy block formats (dot_amd64.s). Each computes the
// same value as its pure-Go counterpart in dot_legacy.go, bit for bit: the
// integer sum of every block is exact, and the per-block float recipe and the
// order of the running float32 sum are those of the Go kernel (the vector
// lanes hold different blocks, never partial sums of one value).
//
// w points at nb weight blocks, x at nb raw activation blocks (Q8_1 for
// Q4_1, Q8_0 otherwise).

//go:noescape
func dotQ4_1Q8_1AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0AVX2(w, x *byte, nb int) float32

// dotQ8_0Q8_0AVX2 requires activations in [-127, 127] (see hasQ8Min).
//
//go:noescape
func dotQ8_0Q8_0AVX2(w, x *byte, nb int) float32

// The x4 kernels compute out[j] = dot(w, x + j*xs) for the four activation
// rows j = 0..3 (nb >= 1), each bit-identical to the one-row kernel.

//go:noescape
func mulQ4_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func mulQ4_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func mulQ8_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)

// The r4 kernels compute out[i] = dot(w + i*ws, x) for the four weight rows
// i = 0..3 (nb >= 1), each bit-identical to the one-row kernel.

//go:noescape
func dotQ4_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

//go:noescape
func dotQ4_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

//go:noescape
func dotQ8_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() uint32

// hasAVX2 reports AVX2, FMA and F16C support with OS-enabled YMM state.
func hasAVX2() bool {
	max, _, _, _ := cpuid(0, 0)
	if max < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx, f16c = 1 << 12, 1 << 27, 1 << 28, 1 << 29
	if c1&(fma|osxsave|avx|f16c) != fma|osxsave|avx|f16c {
		return false
	}
	if xgetbv0()&6 != 6 { // XMM and YMM state
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

// useAsm selects the assembly kernels; KVPACK_NOASM=1 forces pure Go.
var useAsm = hasAVX2() && os.Getenv("KVPACK_NOASM") != "1"

// vnniOn lets the four-token Q4_1 kernel use AVX-512 VNNI (read by the
// assembly); KVPACK_NOVNNI=1 keeps it on AVX2. Results are identical.
var vnniOn = useAsm && hasVNNI() && os.Getenv("KVPACK_NOVNNI") != "1"

// hasVNNI reports AVX512F, AVX512-VL and AVX512-VNNI with OS-enabled opmask and ZMM
// state (EVEX instructions need it even on YMM registers).
func hasVNNI() bool {
	if !hasAVX2() {
		return false
	}
	const xmmYmmZmm = 0xe6 // XCR0: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
	if xgetbv0()&xmmYmmZmm != xmmYmmZmm {
		return false
	}
	_, b7, c7, _ := cpuid(7, 0)
	const avx512f, avx512vl, avx512vnni = 1 << 16, 1 << 31, 1 << 11
	return b7&avx512f != 0 && b7&avx512vl != 0 && c7&avx512vnni != 0
}

// asmAvailable reports whether the CPU can run the kernels at all (tests).
var asmAvailable = hasAVX2()

// HasAVX2 reports whether this CPU and build run kvpack's AVX2+FMA+F16C
// assembly (other packages' kernels use it to pick their fast path).
func HasAVX2() bool { return asmAvailable }
