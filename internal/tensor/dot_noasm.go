//go:build !amd64 || purego

package tensor

var useAsm = false

const asmAvailable = false

// HasAVX2 reports whether this CPU and build run kvpack's AVX2+FMA+F16C
// assembly: never in this build.
func HasAVX2() bool { return false }

func dotQ4_1Q8_1AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ4_0Q8_0AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ8_0Q8_0AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func mulQ4_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ4_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ8_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ4_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ4_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ8_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ4KQ8KAVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ5KQ8KAVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ6KQ8KAVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ4KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ5KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ6KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ4KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ5KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ6KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ5_0Q8_0AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ5_1Q8_1AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func mulQ5_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func mulQ5_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ5_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
func dotQ5_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32) {
	panic("tensor: no assembly kernels")
}
