//go:build amd64 && !purego

#include "textflag.h"
#include "dot_k_amd64.h"

// AVX2 dot products of the K-quants against raw Q8_K blocks (see
// dot_k_amd64.go). One super-block per iteration: its integer sums are exact
// (vpmaddubsw never saturates here, |q| < 64 and |y| <= 128, and the rest is
// int32 arithmetic, which wraps like Go's), then the float recipe of dot_k.go
// runs once per super-block, in block order, so the results are those of the
// Go kernels bit for bit. The r4 kernels run four weight rows in the lanes of
// one XMM register with the same per-lane operations; R9, R10, R11 point at
// rows 1..3 and R12 is the prefetch distance. Registers and shared macros:
// dot_k_amd64.h.

// K4FIN1 adds the block's float term to X12 from Y4 (Q4KROW/Q5KROW):
// sumf += float32(d*float32(isum)) - float32(dmin*float32(mterm)), with
// d, dmin = half*dy, computed in lanes 0 and 1.
#define K4FIN1 \
	VEXTRACTI128 $1, Y4, X0; \
	VPADDD X0, X4, X4; \
	VPHADDD X4, X4, X4; \
	VCVTDQ2PS X4, X4; \
	VMOVD (SI), X1; \
	VCVTPH2PS X1, X1; \
	VBROADCASTSS (DI), X2; \
	VMULPS X2, X1, X1; \
	VMULPS X4, X1, X1; \
	VMOVSHDUP X1, X2; \
	VSUBSS X2, X1, X1; \
	VADDSS X1, X12, X12

// K4FIN4 is K4FIN1 for the four rows of Y4..Y7, one per lane of X12
// (needs Y13 = keo).
#define K4FIN4 \
	VPHADDD Y5, Y4, Y4; \
	VPHADDD Y7, Y6, Y6; \
	VEXTRACTI128 $1, Y4, X0; \
	VPADDD X0, X4, X4; \
	VEXTRACTI128 $1, Y6, X1; \
	VPADDD X1, X6, X6; \
	VSHUFPS $0x88, X6, X4, X0; \
	VSHUFPS $0xDD, X6, X4, X1; \
	VCVTDQ2PS X0, X0; \
	VCVTDQ2PS X1, X1; \
	VMOVD (SI), X2; \
	VPINSRD $1, (R9), X2, X2; \
	VPINSRD $2, (R10), X2, X2; \
	VPINSRD $3, (R11), X2, X2; \
	VCVTPH2PS X2, Y2; \
	VBROADCASTSS (DI), Y3; \
	VMULPS Y3, Y2, Y2; \
	VPERMPS Y2, Y13, Y2; \
	VMULPS X2, X0, X0; \
	VEXTRACTF128 $1, Y2, X2; \
	VMULPS X2, X1, X1; \
	VSUBPS X1, X0, X0; \
	VADDPS X0, X12, X12

// func dotQ4KQ8KAVX2(w, x *byte, nb int) float32
TEXT ·dotQ4KQ8KAVX2(SB), NOSPLIT, $32-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	BYTES($0x0F0F0F0F, X15, Y15)
	VXORPS X12, X12, X12
q4kloop:
	Q4KROW(SI, Y4)
	K4FIN1
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kloop
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// func dotQ4KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ4KQ8Kr4AVX2(SB), NOSPLIT, $32-40
	MOVQ w+0(FP), SI
	MOVQ ws+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(SI)
	LEAQ (R8)(R8*1), R12
	SHLQ $2, R12
	BYTES($0x0F0F0F0F, X15, Y15)
	VMOVDQU evenodd<>(SB), Y13
	VXORPS X12, X12, X12
q4kr4loop:
	KPF(0)
	KPF(64)
	KPF(128)
	Q4KROW(SI, Y4)
	Q4KROW(R9, Y5)
	Q4KROW(R10, Y6)
	Q4KROW(R11, Y7)
	K4FIN4
	KR4NEXT(144)
	JNZ q4kr4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func dotQ5KQ8KAVX2(w, x *byte, nb int) float32
TEXT ·dotQ5KQ8KAVX2(SB), NOSPLIT, $32-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x10101010, X14, Y14)
	VXORPS X12, X12, X12
q5kloop:
	Q5KROW(SI, Y4)
	K4FIN1
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5kloop
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// func dotQ5KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ5KQ8Kr4AVX2(SB), NOSPLIT, $32-40
	MOVQ w+0(FP), SI
	MOVQ ws+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(SI)
	LEAQ (R8)(R8*1), R12
	SHLQ $2, R12
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x10101010, X14, Y14)
	VMOVDQU evenodd<>(SB), Y13
	VXORPS X12, X12, X12
q5kr4loop:
	KPF(0)
	KPF(64)
	KPF(128)
	Q5KROW(SI, Y4)
	Q5KROW(R9, Y5)
	Q5KROW(R10, Y6)
	Q5KROW(R11, Y7)
	K4FIN4
	KR4NEXT(176)
	JNZ q5kr4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func dotQ6KQ8KAVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(half(d)*dy) * float32(isum). The f16 scale is
// the block's last two bytes, so it is read with a 16-bit load.
TEXT ·dotQ6KQ8KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x30303030, X14, Y14)
	VXORPS X12, X12, X12
q6kloop:
	Q6KROW(SI, Y4)
	VEXTRACTI128 $1, Y4, X0
	VPADDD X0, X4, X4
	VPSHUFD $0x4E, X4, X0
	VPADDD X0, X4, X4
	VPSHUFD $0xB1, X4, X0
	VPADDD X0, X4, X4
	VCVTDQ2PS X4, X4
	MOVWLZX 208(SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS (DI), X2, X2
	VMULSS X2, X4, X4
	VADDSS X4, X12, X12
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kloop
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// func dotQ6KQ8Kr4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ6KQ8Kr4AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ws+8(FP), R8
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(SI)
	LEAQ (R8)(R8*1), R12
	SHLQ $2, R12
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x30303030, X14, Y14)
	VXORPS X12, X12, X12
q6kr4loop:
	KPF(0)
	KPF(64)
	KPF(128)
	KPF(192)
	Q6KROW(SI, Y4)
	Q6KROW(R9, Y5)
	Q6KROW(R10, Y6)
	Q6KROW(R11, Y7)
	VPHADDD Y5, Y4, Y4
	VPHADDD Y7, Y6, Y6
	VPHADDD Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VCVTDQ2PS X4, X4
	MOVWLZX 208(SI), AX
	VMOVD AX, X2
	VPINSRW $1, 208(R9), X2, X2
	VPINSRW $2, 208(R10), X2, X2
	VPINSRW $3, 208(R11), X2, X2
	VCVTPH2PS X2, X2
	VBROADCASTSS (DI), X3
	VMULPS X3, X2, X2
	VMULPS X2, X4, X4
	VADDPS X4, X12, X12
	KR4NEXT(210)
	JNZ q6kr4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET
