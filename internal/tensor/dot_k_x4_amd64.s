//go:build amd64 && !purego

#include "textflag.h"
#include "dot_k_amd64.h"

// Four-token K-quant kernels for prefill: one weight row against the four
// Q8_K activation rows at DI, R9, R10, R11 (byte stride xs), so every weight
// super-block is loaded and unpacked once for four tokens. Lane j of X12
// holds token j's running sum and sees exactly the per-block recipe and
// block order of the one-row kernel, so results are bit-identical to it.
// Y4..Y7 are the four tokens' integer accumulators.

#define KX4NEXT(wb) \
	ADDQ $wb, SI; \
	ADDQ $292, DI; \
	ADDQ $292, R9; \
	ADDQ $292, R10; \
	ADDQ $292, R11; \
	DECQ CX

// KX4DY gathers the four tokens' Q8_K scales dy into X8.
#define KX4DY \
	VMOVD (DI), X8; \
	VPINSRD $1, (R9), X8, X8; \
	VPINSRD $2, (R10), X8, X8; \
	VPINSRD $3, (R11), X8, X8

// K4X4T adds one token's share of a Q4_K/Q5_K chunk (quants in Y0, Y1,
// scales in Y2, Y3) to ACC, with temporaries T0, T1.
#define K4X4T(xt, xlo, xhi, ACC, T0, T1) \
	VPMADDUBSW xlo(xt), Y0, T0; \
	VPMADDUBSW xhi(xt), Y1, T1; \
	VPMADDWD Y2, T0, T0; \
	VPMADDWD Y3, T1, T1; \
	VPADDD T0, ACC, ACC; \
	VPADDD T1, ACC, ACC

#define K4X4(xlo, xhi, slo, shi, T0, T1) \
	VPBROADCASTD slo(SP), Y2; \
	VPBROADCASTD shi(SP), Y3; \
	K4X4T(DI, xlo, xhi, Y4, T0, T1); \
	K4X4T(R9, xlo, xhi, Y5, T0, T1); \
	K4X4T(R10, xlo, xhi, Y6, T0, T1); \
	K4X4T(R11, xlo, xhi, Y7, T0, T1)

#define K4X4ZERO \
	VPXOR Y4, Y4, Y4; \
	VPXOR Y5, Y5, Y5; \
	VPXOR Y6, Y6, Y6; \
	VPXOR Y7, Y7, Y7

// K4X4FIN adds each token's min term (mins in Y10) to its accumulator, then
// the float terms to the lanes of X12: per token j,
// float32(d*dy_j*float32(isum_j)) - float32(dmin*dy_j*float32(mterm_j)).
#define K4X4FIN \
	VPMADDWD 260(DI), Y10, Y8; \
	VPHADDD Y8, Y4, Y4; \
	VPMADDWD 260(R9), Y10, Y8; \
	VPHADDD Y8, Y5, Y5; \
	VPMADDWD 260(R10), Y10, Y8; \
	VPHADDD Y8, Y6, Y6; \
	VPMADDWD 260(R11), Y10, Y8; \
	VPHADDD Y8, Y7, Y7; \
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
	VPBROADCASTW (SI), X2; \
	VPBROADCASTW 2(SI), X3; \
	VCVTPH2PS X2, X2; \
	VCVTPH2PS X3, X3; \
	KX4DY; \
	VMULPS X8, X2, X2; \
	VMULPS X8, X3, X3; \
	VMULPS X2, X0, X0; \
	VMULPS X3, X1, X1; \
	VSUBPS X1, X0, X0; \
	VADDPS X0, X12, X12

// func mulQ4KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)
TEXT ·mulQ4KQ8Kx4AVX2(SB), NOSPLIT, $32-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xs+16(FP), R8
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(DI)
	BYTES($0x0F0F0F0F, X15, Y15)
	VXORPS X12, X12, X12
q4kx4loop:
	K4SC(SI)
	K4X4ZERO
	Q4NIB(SI, 16)
	K4X4(4, 36, 0, 4, Y8, Y9)
	Q4NIB(SI, 48)
	K4X4(68, 100, 8, 12, Y8, Y9)
	Q4NIB(SI, 80)
	K4X4(132, 164, 16, 20, Y8, Y9)
	Q4NIB(SI, 112)
	K4X4(196, 228, 24, 28, Y8, Y9)
	K4X4FIN
	KX4NEXT(144)
	JNZ q4kx4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func mulQ5KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)
TEXT ·mulQ5KQ8Kx4AVX2(SB), NOSPLIT, $32-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xs+16(FP), R8
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(DI)
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x10101010, X14, Y14)
	VXORPS X12, X12, X12
q5kx4loop:
	K4SC(SI)
	VMOVDQU 16(SI), Y9
	K4X4ZERO
	Q4NIB(SI, 48)
	Q5HB
	K4X4(4, 36, 0, 4, Y8, Y11)
	VPSRLW $2, Y9, Y9
	Q4NIB(SI, 80)
	Q5HB
	K4X4(68, 100, 8, 12, Y8, Y11)
	VPSRLW $2, Y9, Y9
	Q4NIB(SI, 112)
	Q5HB
	K4X4(132, 164, 16, 20, Y8, Y11)
	VPSRLW $2, Y9, Y9
	Q4NIB(SI, 144)
	Q5HB
	K4X4(196, 228, 24, 28, Y8, Y11)
	K4X4FIN
	KX4NEXT(176)
	JNZ q5kx4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// Q6X4T, Q6X4: the four tokens' share of one run of 32 Q6_K quants in Y3,
// scaled per sub-block by the shufk6 entry at soff of S.
#define Q6X4T(xt, xoff, ACC) \
	VPMADDUBSW xoff(xt), Y3, Y8; \
	VPMADDWD Y13, Y8, Y8; \
	VPADDD Y8, ACC, ACC

#define Q6X4(xoff, soff, S) \
	VPSHUFB shufk6<>+soff(SB), S, Y13; \
	Q6X4T(DI, xoff, Y4); \
	Q6X4T(R9, xoff, Y5); \
	Q6X4T(R10, xoff, Y6); \
	Q6X4T(R11, xoff, Y7)

#define Q6X4C(lo, hi, qh, x0, x1, x2, x3, S) \
	Q6LOAD(SI, lo, hi, qh); \
	Q6Q1; \
	Q6X4(x0, 0, S); \
	Q6Q2; \
	Q6X4(x1, 32, S); \
	Q6Q3; \
	Q6X4(x2, 64, S); \
	Q6Q4; \
	Q6X4(x3, 96, S)

// Q6X4CORR starts token xt's accumulator at -32*Σ scale*bsum (scales in Y11).
#define Q6X4CORR(xt, ACC) \
	VPMADDWD 260(xt), Y11, Y8; \
	VPSLLD $5, Y8, Y8; \
	VPXOR ACC, ACC, ACC; \
	VPSUBD Y8, ACC, ACC

// func mulQ6KQ8Kx4AVX2(w, x *byte, xs, nb int, out *[4]float32)
// Per block and token j: sumf_j += float32(half(d)*dy_j) * float32(isum_j).
TEXT ·mulQ6KQ8Kx4AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ xs+16(FP), R8
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	KPTRS(DI)
	BYTES($0x0F0F0F0F, X15, Y15)
	BYTES($0x30303030, X14, Y14)
	VXORPS X12, X12, X12
q6kx4loop:
	VPMOVSXBW 192(SI), Y11
	VPERMQ $0x44, Y11, Y10
	VPERMQ $0xEE, Y11, Y9
	Q6X4CORR(DI, Y4)
	Q6X4CORR(R9, Y5)
	Q6X4CORR(R10, Y6)
	Q6X4CORR(R11, Y7)
	Q6X4C(0, 32, 128, 4, 36, 68, 100, Y10)
	Q6X4C(64, 96, 160, 132, 164, 196, 228, Y9)
	VPHADDD Y5, Y4, Y4
	VPHADDD Y7, Y6, Y6
	VPHADDD Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VCVTDQ2PS X4, X4
	MOVWLZX 208(SI), AX
	VMOVD AX, X2
	VPBROADCASTW X2, X2
	VCVTPH2PS X2, X2
	KX4DY
	VMULPS X8, X2, X2
	VMULPS X2, X4, X4
	VADDPS X4, X12, X12
	KX4NEXT(210)
	JNZ q6kx4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET
