package tensor

// Assembly dispatch for the legacy formats (see dot_amd64.go). The kernels
// read the raw Q8_0/Q8_1 activation blocks, so no SWAR packing is needed.

// asmLegacyKernel returns the assembly kernel for weights of type t, or nil.
func asmLegacyKernel(t DType) func(w, x *byte, nb int) float32 {
	switch t {
	case Q4_1:
		return dotQ4_1Q8_1AVX2
	case Q4_0:
		return dotQ4_0Q8_0AVX2
	case Q5_0:
		return dotQ5_0Q8_0AVX2
	case Q5_1:
		return dotQ5_1Q8_1AVX2
	case Q8_0:
		return dotQ8_0Q8_0AVX2
	}
	return nil
}

// dotLegacy4 runs the four-token kernel for weights of type t (one that
// asmLegacyKernel accepts). Direct calls keep out on the caller's stack.
func dotLegacy4(t DType, w, x *byte, xs, nb int, out *[4]float32) {
	switch t {
	case Q4_1:
		mulQ4_1Q8_1x4AVX2(w, x, xs, nb, out)
	case Q4_0:
		mulQ4_0Q8_0x4AVX2(w, x, xs, nb, out)
	case Q5_0:
		mulQ5_0Q8_0x4AVX2(w, x, xs, nb, out)
	case Q5_1:
		mulQ5_1Q8_1x4AVX2(w, x, xs, nb, out)
	default:
		mulQ8_0Q8_0x4AVX2(w, x, xs, nb, out)
	}
}

// dotLegacyRows4 runs the four-row kernel for weights of type t.
func dotLegacyRows4(t DType, w *byte, ws int, x *byte, nb int, out *[4]float32) {
	switch t {
	case Q4_1:
		dotQ4_1Q8_1r4AVX2(w, ws, x, nb, out)
	case Q4_0:
		dotQ4_0Q8_0r4AVX2(w, ws, x, nb, out)
	case Q5_0:
		dotQ5_0Q8_0r4AVX2(w, ws, x, nb, out)
	case Q5_1:
		dotQ5_1Q8_1r4AVX2(w, ws, x, nb, out)
	default:
		dotQ8_0Q8_0r4AVX2(w, ws, x, nb, out)
	}
}

// hasQ8Min reports whether some quant of the Q8_0 row x (nb blocks) is -128,
// which the Q8_0 kernel's sign trick cannot negate. QuantizeActivations
// never produces it (quants are clamped to ±127, as in ggml), but MatMul
// accepts any bytes, so such rows take the Go path.
func hasQ8Min(x []byte, nb int) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < nb; i++ {
		q := x[i*34+2 : i*34+34]
		for k := 0; k < 32; k += 8 {
			v := le64(q[k:]) ^ hi // bytes equal to 0x80 become zero
			if (v-lo)&^v&hi != 0 {
				return true
			}
		}
	}
	return false
}

// matMulLegacyAsm runs MatMul with an assembly kernel; it reports false
// (doing nothing) when the call must take the Go path.
func matMulLegacyAsm(s mmShape, w, x []byte, out []float32) bool {
	if !useAsm {
		return false
	}
	dot := asmLegacyKernel(s.t)
	if dot == nil || s.rows == 0 {
		return false
	}
	nb := s.cols / 32
	if nb == 0 {
		for j := 0; j < s.nx; j++ {
			for r := 0; r < s.rows; r++ {
				out[j*s.ldOut+r] = 0
			}
		}
		return true
	}
	if s.t == Q8_0 {
		for j := 0; j < s.nx; j++ {
			if hasQ8Min(x[j*s.xb:], nb) {
				return false
			}
		}
	}
	_ = w[s.rows*s.rb-1] // sizes checked by checkMatMul
	_ = x[s.nx*s.xb-1]
	// Tiles of asmRowTile weight rows by four tokens keep both operands in
	// L1 while every weight block is unpacked once per four tokens.
	for r0 := 0; r0 < s.rows; r0 += asmRowTile {
		r1 := min(r0+asmRowTile, s.rows)
		j := 0
		for ; j+4 <= s.nx; j += 4 {
			var o [4]float32
			for r := r0; r < r1; r++ {
				dotLegacy4(s.t, &w[r*s.rb], &x[j*s.xb], s.xb, nb, &o)
				for k, v := range o {
					out[(j+k)*s.ldOut+r] = v
				}
			}
		}
		for ; j < s.nx; j++ {
			r := r0
			for ; r+4 <= r1; r += 4 {
				var o [4]float32
				dotLegacyRows4(s.t, &w[r*s.rb], s.rb, &x[j*s.xb], nb, &o)
				copy(out[j*s.ldOut+r:j*s.ldOut+r+4], o[:])
			}
			for ; r < r1; r++ {
				out[j*s.ldOut+r] = dot(&w[r*s.rb], &x[j*s.xb], nb)
			}
		}
	}
	return true
}

// asmRowTile is the number of weight rows per prefill tile (16 Q4_1 rows of
// 576 are 5.6 KiB).
const asmRowTile = 16
