//go:build amd64 && !purego

package kvcache

import (
	"os"

	"github.com/kvpack/kvpack/internal/tensor"
)

// Assembly kernels (kern_amd64.s). They need AVX2, FMA and F16C and a head
// dimension that is a positive multiple of 8 (see fastKernels).

//go:noescape
func scoresF32(q, k *float32, n, hd int, scale float32, out *float32)

//go:noescape
func scoresF16(q *float32, k *uint16, n, hd int, scale float32, out *float32)

// scoresF16x8 and scoresF32x8 are scoresF16/scoresF32 for n a positive
// multiple of 8, eight keys at a time.
//
//go:noescape
func scoresF16x8(q *float32, k *uint16, n, hd int, scale float32, out *float32)

//go:noescape
func scoresF32x8(q, k *float32, n, hd int, scale float32, out *float32)

//go:noescape
func accumF32(acc, p, v *float32, n, hd int)

//go:noescape
func accumF16(acc, p *float32, v *uint16, n, hd int)

//go:noescape
func expShiftAVX2(x *float32, n int, m float32)

// asmAvailable reports whether the CPU can run the kernels (tests).
var asmAvailable = tensor.HasAVX2()

// useAsm selects the assembly kernels; KVPACK_NOASM=1 forces pure Go.
var useAsm = asmAvailable && os.Getenv("KVPACK_NOASM") != "1"
