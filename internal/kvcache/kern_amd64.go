//go:build amd64 && !purego

package kvcache

import "os"

// Assembly kernels (kern_amd64.s). They need AVX2, FMA and F16C and a head
// dimension that is a positive multiple of 8 (see fastKernels).

//go:noescape
func scoresF32(q, k *float32, n, hd int, scale float32, out *float32)

//go:noescape
func scoresF16(q *float32, k *uint16, n, hd int, scale float32, out *float32)

//go:noescape
func accumF32(acc, p, v *float32, n, hd int)

//go:noescape
func accumF16(acc, p *float32, v *uint16, n, hd int)

//go:noescape
func expShiftAVX2(x *float32, n int, m float32)

func cpuidKV(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbvKV() uint32

// hasAVX2FMA reports AVX2, FMA and F16C with OS-enabled YMM state.
func hasAVX2FMA() bool {
	max, _, _, _ := cpuidKV(0, 0)
	if max < 7 {
		return false
	}
	_, _, c1, _ := cpuidKV(1, 0)
	const fma, osxsave, avx, f16c = 1 << 12, 1 << 27, 1 << 28, 1 << 29
	if c1&(fma|osxsave|avx|f16c) != fma|osxsave|avx|f16c {
		return false
	}
	if xgetbvKV()&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuidKV(7, 0)
	return b7&(1<<5) != 0
}

// asmAvailable reports whether the CPU can run the kernels (tests).
var asmAvailable = hasAVX2FMA()

// useAsm selects the assembly kernels; KVPACK_NOASM=1 forces pure Go.
var useAsm = asmAvailable && os.Getenv("KVPACK_NOASM") != "1"
