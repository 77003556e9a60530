//go:build amd64 && !purego

#include "textflag.h"
#include "dot_common_amd64.h"

// AVX2 dot products of legacy block formats against raw Q8_0/Q8_1 blocks.
// Four blocks per iteration: the exact int32 sums of the four blocks land in
// the lanes of one XMM register, the per-block float terms are computed
// lane-wise with the same operations (and roundings) as the Go kernels, and
// are then added to the running sum one by one, in block order.
//
// Registers: SI weights, DI activations, CX blocks left, X12 running sum,
// Y15 int16 ones, Y14 0x0F bytes, Y13 even/odd permutation, Y11 0x08 bytes.


#define SETUP \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW $15, Y15, Y15; \
	MOVL $0x0F0F0F0F, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
	MOVL $0x08080808, AX; \
	VMOVD AX, X11; \
	VPBROADCASTD X11, Y11; \
	VXORPS X12, X12, X12

// NIB expands 16 bytes of nibbles at addr into 32 bytes in Y1: low nibbles
// (elements 0..15) in the low lane, high nibbles (16..31) in the high lane.
#define NIB(addr) \
	VMOVDQU addr, X1; \
	VPSRLW $4, X1, X2; \
	VINSERTI128 $1, X2, Y1, Y1; \
	VPAND Y14, Y1, Y1

// Q41 leaves in R the 8 int32 partial sums of Σ q4*q8 for one block.
#define Q41(wq, xq, R) \
	NIB(wq); \
	VPMADDUBSW xq, Y1, R; \
	VPMADDWD Y15, R, R

// Q40: Σ (q4-8)*q8 = maddubs(q4, x) - maddubs(8, x), exact for every int8 x.
#define Q40(wq, xq, R) \
	NIB(wq); \
	VMOVDQU xq, Y3; \
	VPMADDUBSW Y3, Y1, R; \
	VPMADDUBSW Y3, Y11, Y2; \
	VPSUBW Y2, R, R; \
	VPMADDWD Y15, R, R

// Q80: sign trick, |w| (0..128 unsigned) times x*sign(w); exact when
// x != -128.
#define Q80(wq, xq, R) \
	VMOVDQU wq, Y1; \
	VMOVDQU xq, Y3; \
	VPSIGNB Y1, Y1, Y2; \
	VPSIGNB Y1, Y3, Y3; \
	VPMADDUBSW Y3, Y2, R; \
	VPMADDWD Y15, R, R




// Frame loads of the x4 (four tokens) and r4 (four rows) kernels below;
// defined before the first TEXT so vet's frame check sees them outside any
// function.
#define X4SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ x+8(FP), DI; \
	MOVQ xs+16(FP), R8; \
	MOVQ nb+24(FP), CX; \
	MOVQ out+32(FP), DX; \
	LEAQ (DI)(R8*1), R9; \
	LEAQ (R9)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11; \
	SETUP

#define R4SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ ws+8(FP), R8; \
	MOVQ x+16(FP), DI; \
	MOVQ nb+24(FP), CX; \
	MOVQ out+32(FP), DX; \
	LEAQ (SI)(R8*1), R9; \
	LEAQ (R9)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11; \
	SETUP; \
	LEAQ (R8)(R8*1), R12; \
	SHLQ $2, R12

// func dotQ4_1Q8_1AVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(float32(dw*dx)*float32(sumi)) + float32(mw*sx).
TEXT ·dotQ4_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	SETUP
	VMOVDQU evenodd<>(SB), Y13
	CMPQ CX, $4
	JLT q41tail
q41loop4:
	Q41(4(SI), 4(DI), Y4)
	Q41(24(SI), 40(DI), Y5)
	Q41(44(SI), 76(DI), Y6)
	Q41(64(SI), 112(DI), Y7)
	HSUM4
	// scales: [dw0 mw0 dw1 mw1 ...] * [dx0 sx0 dx1 sx1 ...]
	VMOVD (SI), X8
	VPINSRD $1, 20(SI), X8, X8
	VPINSRD $2, 40(SI), X8, X8
	VPINSRD $3, 60(SI), X8, X8
	VMOVD (DI), X9
	VPINSRD $1, 36(DI), X9, X9
	VPINSRD $2, 72(DI), X9, X9
	VPINSRD $3, 108(DI), X9, X9
	VCVTPH2PS X8, Y8
	VCVTPH2PS X9, Y9
	VMULPS Y9, Y8, Y8
	VPERMPS Y8, Y13, Y8 // [d0 d1 d2 d3 | m0 m1 m2 m3]
	VMULPS X8, X4, X4
	VEXTRACTF128 $1, Y8, X8
	VADDPS X8, X4, X4
	ADD4
	ADDQ $80, SI
	ADDQ $144, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE q41loop4
q41tail:
	TESTQ CX, CX
	JEQ q41done
q41loop1:
	Q41(4(SI), 4(DI), Y4)
	HSUM1
	VMOVD (SI), X8
	VMOVD (DI), X9
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULPS X9, X8, X8 // [dw*dx, mw*sx]
	VMULSS X8, X4, X4
	VMOVSHDUP X8, X9
	VADDSS X9, X4, X4
	VADDSS X4, X12, X12
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q41loop1
q41done:
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// Q8_0 scales of four blocks at byte stride st: X8 = dw (4 lanes), X9 = dx.
#define SCALES4(st1, st2, st3, wst1, wst2, wst3) \
	VMOVD (SI), X8; \
	VPINSRW $1, wst1(SI), X8, X8; \
	VPINSRW $2, wst2(SI), X8, X8; \
	VPINSRW $3, wst3(SI), X8, X8; \
	VMOVD (DI), X9; \
	VPINSRW $1, st1(DI), X9, X9; \
	VPINSRW $2, st2(DI), X9, X9; \
	VPINSRW $3, st3(DI), X9, X9; \
	VCVTPH2PS X8, X8; \
	VCVTPH2PS X9, X9

// func dotQ4_0Q8_0AVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(float32(float32(sumi)*dw) * dx).
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	SETUP
	CMPQ CX, $4
	JLT q40tail
q40loop4:
	Q40(2(SI), 2(DI), Y4)
	Q40(20(SI), 36(DI), Y5)
	Q40(38(SI), 70(DI), Y6)
	Q40(56(SI), 104(DI), Y7)
	HSUM4
	SCALES4(34, 68, 102, 18, 36, 54)
	VMULPS X8, X4, X4
	VMULPS X9, X4, X4
	ADD4
	ADDQ $72, SI
	ADDQ $136, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE q40loop4
q40tail:
	TESTQ CX, CX
	JEQ q40done
q40loop1:
	Q40(2(SI), 2(DI), Y4)
	HSUM1
	VMOVD (SI), X8
	VMOVD (DI), X9
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULSS X8, X4, X4
	VMULSS X9, X4, X4
	VADDSS X4, X12, X12
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q40loop1
q40done:
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// func dotQ8_0Q8_0AVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(float32(sumi) * float32(dw*dx)).
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	SETUP
	CMPQ CX, $4
	JLT q80tail
q80loop4:
	Q80(2(SI), 2(DI), Y4)
	Q80(36(SI), 36(DI), Y5)
	Q80(70(SI), 70(DI), Y6)
	Q80(104(SI), 104(DI), Y7)
	HSUM4
	SCALES4(34, 68, 102, 34, 68, 102)
	VMULPS X9, X8, X8
	VMULPS X8, X4, X4
	ADD4
	ADDQ $136, SI
	ADDQ $136, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE q80loop4
q80tail:
	TESTQ CX, CX
	JEQ q80done
q80loop1:
	Q80(2(SI), 2(DI), Y4)
	HSUM1
	VMOVD (SI), X8
	VMOVD (DI), X9
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULSS X9, X8, X8
	VMULSS X8, X4, X4
	VADDSS X4, X12, X12
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q80loop1
q80done:
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// Four-token kernels for prefill: one weight row against four activation
// rows at byte stride xs, so every weight block is loaded and unpacked once
// for four tokens. The lanes of X12 hold the four running sums; each lane
// sees exactly the per-block recipe and block order of the one-token
// kernel, so results are bit-identical to it.
//
// Registers: SI weights, DI/R9/R10/R11 the four activation rows, CX blocks
// left, DX out.


// Q41X4SCALES finishes one block of the four-token Q4_1 kernel: X4 holds
// the four tokens' float block sums.
#define Q41X4SCALES \
	VPBROADCASTD (SI), X8; \
	X4GATHER(0); \
	VCVTPH2PS X8, Y8; \
	VCVTPH2PS X9, Y9; \
	VMULPS Y9, Y8, Y8; \
	VPERMPS Y8, Y13, Y8; \
	VMULPS X8, X4, X4; \
	VEXTRACTF128 $1, Y8, X8; \
	VADDPS X8, X4, X4; \
	VADDPS X4, X12, X12

// func mulQ4_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32)
// With vnniOn the integer sums use AVX-512 VNNI (VPDPBUSD on YMM: one
// instruction for maddubs+maddwd, the same exact int32 lanes since neither
// form saturates at these ranges): prefill's hottest loop, 15 % faster.
TEXT ·mulQ4_1Q8_1x4AVX2(SB), NOSPLIT, $0-40
	X4SETUP
	VMOVDQU evenodd<>(SB), Y13
	CMPB ·vnniOn(SB), $0
	JNE q41x4vnni
q41x4loop:
	NIB(4(SI))
	VPMADDUBSW 4(DI), Y1, Y4
	VPMADDWD Y15, Y4, Y4
	VPMADDUBSW 4(R9), Y1, Y5
	VPMADDWD Y15, Y5, Y5
	VPMADDUBSW 4(R10), Y1, Y6
	VPMADDWD Y15, Y6, Y6
	VPMADDUBSW 4(R11), Y1, Y7
	VPMADDWD Y15, Y7, Y7
	HSUM4
	Q41X4SCALES
	X4NEXT(20, 36)
	JNZ q41x4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET
q41x4vnni:
	NIB(4(SI))
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPDPBUSD 4(DI), Y1, Y4
	VPDPBUSD 4(R9), Y1, Y5
	VPDPBUSD 4(R10), Y1, Y6
	VPDPBUSD 4(R11), Y1, Y7
	HSUM4
	Q41X4SCALES
	X4NEXT(20, 36)
	JNZ q41x4vnni
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func mulQ4_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)
TEXT ·mulQ4_0Q8_0x4AVX2(SB), NOSPLIT, $0-40
	X4SETUP
q40x4loop:
	NIB(2(SI))
	X4OFFSETSUMS(2) // q4 - 8
	VPBROADCASTW (SI), X8
	GATHER16(X9, (DI), (R9), (R10), (R11))
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULPS X8, X4, X4
	VMULPS X9, X4, X4
	VADDPS X4, X12, X12
	X4NEXT(18, 34)
	JNZ q40x4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func mulQ8_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)
// Activations must be in [-127, 127] (see hasQ8Min).
TEXT ·mulQ8_0Q8_0x4AVX2(SB), NOSPLIT, $0-40
	X4SETUP
q80x4loop:
	VMOVDQU 2(SI), Y1
	VPSIGNB Y1, Y1, Y2
	VMOVDQU 2(DI), Y3
	VPSIGNB Y1, Y3, Y3
	VPMADDUBSW Y3, Y2, Y4
	VMOVDQU 2(R9), Y3
	VPSIGNB Y1, Y3, Y3
	VPMADDUBSW Y3, Y2, Y5
	VMOVDQU 2(R10), Y3
	VPSIGNB Y1, Y3, Y3
	VPMADDUBSW Y3, Y2, Y6
	VMOVDQU 2(R11), Y3
	VPSIGNB Y1, Y3, Y3
	VPMADDUBSW Y3, Y2, Y7
	VPMADDWD Y15, Y4, Y4
	VPMADDWD Y15, Y5, Y5
	VPMADDWD Y15, Y6, Y6
	VPMADDWD Y15, Y7, Y7
	HSUM4
	VPBROADCASTW (SI), X8
	GATHER16(X9, (DI), (R9), (R10), (R11))
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULPS X9, X8, X8
	VMULPS X8, X4, X4
	VADDPS X4, X12, X12
	X4NEXT(34, 34)
	JNZ q80x4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// Four-row kernels for decode: four weight rows at byte stride ws against
// one activation row, the lanes of X12 holding the four rows' running sums
// (bit-identical to the one-row kernel, as above).
//
// Registers: SI/R9/R10/R11 the four weight rows, DI activations, CX blocks
// left, DX out.


// func dotQ4_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ4_1Q8_1r4AVX2(SB), NOSPLIT, $0-40
	R4SETUP
	VMOVDQU evenodd<>(SB), Y13
q41r4loop:
	R4PREFETCH
	VMOVDQU 4(DI), Y3
	Q41(4(SI), Y3, Y4)
	Q41(4(R9), Y3, Y5)
	Q41(4(R10), Y3, Y6)
	Q41(4(R11), Y3, Y7)
	HSUM4
	VMOVD (SI), X8
	VPINSRD $1, (R9), X8, X8
	VPINSRD $2, (R10), X8, X8
	VPINSRD $3, (R11), X8, X8
	VPBROADCASTD (DI), X9
	VCVTPH2PS X8, Y8
	VCVTPH2PS X9, Y9
	VMULPS Y9, Y8, Y8
	VPERMPS Y8, Y13, Y8 // [d0 d1 d2 d3 | m0 m1 m2 m3]
	VMULPS X8, X4, X4
	VEXTRACTF128 $1, Y8, X8
	VADDPS X8, X4, X4
	VADDPS X4, X12, X12
	R4NEXT(20, 36)
	JNZ q41r4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func dotQ4_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ4_0Q8_0r4AVX2(SB), NOSPLIT, $0-40
	R4SETUP
q40r4loop:
	R4PREFETCH
	VMOVDQU 2(DI), Y3
	VPMADDUBSW Y3, Y11, Y0 // 8 * Σx, shared by the four rows
	NIB(2(SI))
	VPMADDUBSW Y3, Y1, Y4
	VPSUBW Y0, Y4, Y4
	NIB(2(R9))
	VPMADDUBSW Y3, Y1, Y5
	VPSUBW Y0, Y5, Y5
	NIB(2(R10))
	VPMADDUBSW Y3, Y1, Y6
	VPSUBW Y0, Y6, Y6
	NIB(2(R11))
	VPMADDUBSW Y3, Y1, Y7
	VPSUBW Y0, Y7, Y7
	VPMADDWD Y15, Y4, Y4
	VPMADDWD Y15, Y5, Y5
	VPMADDWD Y15, Y6, Y6
	VPMADDWD Y15, Y7, Y7
	HSUM4
	GATHER16(X8, (SI), (R9), (R10), (R11))
	VPBROADCASTW (DI), X9
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULPS X8, X4, X4
	VMULPS X9, X4, X4
	VADDPS X4, X12, X12
	R4NEXT(18, 34)
	JNZ q40r4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// Q80R sets R = Σ w*x for the Q8_0 weight block at wq and x in Y3.
#define Q80R(wq, R) \
	VMOVDQU wq, Y1; \
	VPSIGNB Y1, Y1, Y2; \
	VPSIGNB Y1, Y3, Y0; \
	VPMADDUBSW Y0, Y2, R; \
	VPMADDWD Y15, R, R

// func dotQ8_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
// Activations must be in [-127, 127] (see hasQ8Min).
TEXT ·dotQ8_0Q8_0r4AVX2(SB), NOSPLIT, $0-40
	R4SETUP
q80r4loop:
	R4PREFETCH
	VMOVDQU 2(DI), Y3
	Q80R(2(SI), Y4)
	Q80R(2(R9), Y5)
	Q80R(2(R10), Y6)
	Q80R(2(R11), Y7)
	HSUM4
	GATHER16(X8, (SI), (R9), (R10), (R11))
	VPBROADCASTW (DI), X9
	VCVTPH2PS X8, X8
	VCVTPH2PS X9, X9
	VMULPS X9, X8, X8
	VMULPS X8, X4, X4
	VADDPS X4, X12, X12
	R4NEXT(34, 34)
	JNZ q80r4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET
