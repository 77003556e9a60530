//go:build !amd64 || purego

package kvcache

var useAsm = false

const asmAvailable = false

func scoresF32(q, k *float32, n, hd int, scale float32, out *float32) {
	panic("kvcache: no assembly kernels")
}
func scoresF16(q *float32, k *uint16, n, hd int, scale float32, out *float32) {
	panic("kvcache: no assembly kernels")
}
func accumF32(acc, p, v *float32, n, hd int)         { panic("kvcache: no assembly kernels") }
func accumF16(acc, p *float32, v *uint16, n, hd int) { panic("kvcache: no assembly kernels") }
func expShiftAVX2(x *float32, n int, m float32)      { panic("kvcache: no assembly kernels") }
func scoresF16x8(q *float32, k *uint16, n, hd int, scale float32, out *float32) {
	panic("kvcache: no assembly kernels")
}
func scoresF32x8(q, k *float32, n, hd int, scale float32, out *float32) {
	panic("kvcache: no assembly kernels")
}
