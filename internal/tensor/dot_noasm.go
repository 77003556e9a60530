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
