//go:build !amd64 || purego

package tensor

var useAsm = false

const asmAvailable = false

func dotQ4_1Q8_1AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ4_0Q8_0AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
func dotQ8_0Q8_0AVX2(w, x *byte, nb int) float32 { panic("tensor: no assembly kernels") }
