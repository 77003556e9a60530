package tensor

// Assembly dispatch for the K-quants (see dot_k_amd64.go). The kernels read
// the raw Q8_K activation blocks, so packQ8K is skipped.

// dotKRow runs the one-row kernel for weights of type t (Q4_K, Q5_K, Q6_K).
func dotKRow(t DType, w, x *byte, nb int) float32 {
	switch t {
	case Q4_K:
		return dotQ4KQ8KAVX2(w, x, nb)
	case Q5_K:
		return dotQ5KQ8KAVX2(w, x, nb)
	}
	return dotQ6KQ8KAVX2(w, x, nb)
}

// dotKRows4 runs the four-row kernel. Direct calls keep out on the
// caller's stack.
func dotKRows4(t DType, w *byte, ws int, x *byte, nb int, out *[4]float32) {
	switch t {
	case Q4_K:
		dotQ4KQ8Kr4AVX2(w, ws, x, nb, out)
	case Q5_K:
		dotQ5KQ8Kr4AVX2(w, ws, x, nb, out)
	default:
		dotQ6KQ8Kr4AVX2(w, ws, x, nb, out)
	}
}

// dotKTokens4 runs the four-token kernel.
func dotKTokens4(t DType, w, x *byte, xs, nb int, out *[4]float32) {
	switch t {
	case Q4_K:
		mulQ4KQ8Kx4AVX2(w, x, xs, nb, out)
	case Q5_K:
		mulQ5KQ8Kx4AVX2(w, x, xs, nb, out)
	default:
		mulQ6KQ8Kx4AVX2(w, x, xs, nb, out)
	}
}

// matMulKAsm runs MatMul for a K-quant with the assembly kernels; it
// reports false (doing nothing) when the call must take the Go path.
func matMulKAsm(s mmShape, w, x []byte, out []float32) bool {
	if !useAsm || s.rows == 0 {
		return false
	}
	nb := s.cols / qkK
	if nb == 0 {
		for j := 0; j < s.nx; j++ {
			clear(out[j*s.ldOut : j*s.ldOut+s.rows])
		}
		return true
	}
	_ = w[s.rows*s.rb-1] // sizes checked by checkMatMul
	_ = x[s.nx*s.xb-1]
	// Prefill walks tiles of kRowTile rows so that a tile stays in cache for
	// all tokens, unpacking each weight block once per four tokens; decode
	// (nx = 1) is one tile streamed once, four rows at a time.
	tile := s.rows
	if s.nx > 1 {
		tile = kRowTile
	}
	for r0 := 0; r0 < s.rows; r0 += tile {
		r1 := min(r0+tile, s.rows)
		j := 0
		for ; j+4 <= s.nx; j += 4 {
			for r := r0; r < r1; r++ {
				var o [4]float32
				dotKTokens4(s.t, &w[r*s.rb], &x[j*s.xb], s.xb, nb, &o)
				for k, v := range o {
					out[(j+k)*s.ldOut+r] = v
				}
			}
		}
		for ; j < s.nx; j++ {
			xj, o := &x[j*s.xb], out[j*s.ldOut:]
			r := r0
			for ; r+4 <= r1; r += 4 {
				dotKRows4(s.t, &w[r*s.rb], s.rb, xj, nb, (*[4]float32)(o[r:r+4]))
			}
			for ; r < r1; r++ {
				o[r] = dotKRow(s.t, &w[r*s.rb], xj, nb)
			}
		}
	}
	return true
}

// kRowTile is the number of weight rows per prefill tile (16 Q6_K rows of
// 4096 are 53 KiB, inside L2 with room for the activations).
const kRowTile = 16
