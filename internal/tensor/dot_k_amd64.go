//go:build amd64 && !purego

package tensor

// AVX2 kernels for the K-quants against raw Q8_K blocks (dot_k_amd64.s).
// Each returns what its pure-Go counterpart in dot_k.go returns, bit for
// bit, without the SWAR packing of the activations.
//
// w points at nb >= 1 weight super-blocks, x at nb Q8_K blocks.

//go:noescape
func dotQ4KQ8KAVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ5KQ8KAVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ6KQ8KAVX2(w, x *byte, nb int) float32

// The r4 kernels compute out[i] = dot(w + i*ws, x) for the four weight rows
// i = 0..3, each bit-identical to the one-row kernel.

//go:noescape
func dotQ4KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

//go:noescape
func dotQ5KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

//go:noescape
func dotQ6KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

// The x4 kernels compute out[j] = dot(w, x + j*xs) for the four activation
// rows j = 0..3, each bit-identical to the one-row kernel.

//go:noescape
func mulQ4KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func mulQ5KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func mulQ6KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)
