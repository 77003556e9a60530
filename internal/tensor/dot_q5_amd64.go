//go:build amd64 && !purego

package tensor

// AVX2 kernels for the legacy 5-bit formats (dot_q5_amd64.s): Q5_0 weights
// against raw Q8_0 activation blocks, Q5_1 against Q8_1. Each computes the
// same value as dotQ5_0/dotQ5_1 (dot_legacy.go) bit for bit, for any
// activation bytes (-128 included: the 5-bit quants are the unsigned operand
// of vpmaddubsw, so no sign trick is needed). Signatures as in dot_amd64.go:
// one row (nb >= 0), four tokens at byte stride xs and four rows at byte
// stride ws (nb >= 1).

//go:noescape
func dotQ5_0Q8_0AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ5_1Q8_1AVX2(w, x *byte, nb int) float32

//go:noescape
func mulQ5_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func mulQ5_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32)

//go:noescape
func dotQ5_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)

//go:noescape
func dotQ5_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
