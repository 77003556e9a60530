//go:build amd64 && !purego

#include "textflag.h"

// AVX2 dot products of legacy block formats against raw Q8_0/Q8_1 blocks.
// Four blocks per iteration: the exact int32 sums of the four blocks land in
// the lanes of one XMM register, the per-block float terms are computed
// lane-wise with the same operations (and roundings) as the Go kernels, and
// are then added to the running sum one by one, in block order.
//
// Registers: SI weights, DI activations, CX blocks left, X12 running sum,
// Y15 int16 ones, Y14 0x0F bytes, Y13 even/odd permutation, Y11 0x08 bytes.

DATA evenodd<>+0(SB)/4, $0
DATA evenodd<>+4(SB)/4, $2
DATA evenodd<>+8(SB)/4, $4
DATA evenodd<>+12(SB)/4, $6
DATA evenodd<>+16(SB)/4, $1
DATA evenodd<>+20(SB)/4, $3
DATA evenodd<>+24(SB)/4, $5
DATA evenodd<>+28(SB)/4, $7
GLOBL evenodd<>(SB), RODATA|NOPTR, $32

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

// HSUM4 reduces Y4..Y7 (8 int32 each) to X4 = four float32 block sums.
#define HSUM4 \
	VPHADDD Y5, Y4, Y4; \
	VPHADDD Y7, Y6, Y6; \
	VPHADDD Y6, Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD X5, X4, X4; \
	VCVTDQ2PS X4, X4

// HSUM1 reduces Y4 (8 int32) to a float32 in the low lane of X4.
#define HSUM1 \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0x4E, X4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0xB1, X4, X5; \
	VPADDD X5, X4, X4; \
	VCVTDQ2PS X4, X4

// ADD4 adds the four lanes of X4 to X12 in order.
#define ADD4 \
	VADDSS X4, X12, X12; \
	VPSHUFD $0x55, X4, X5; \
	VADDSS X5, X12, X12; \
	VPSHUFD $0xAA, X4, X5; \
	VADDSS X5, X12, X12; \
	VPSHUFD $0xFF, X4, X5; \
	VADDSS X5, X12, X12

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
