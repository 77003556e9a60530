//go:build amd64 && !purego

#include "textflag.h"
#include "dot_common_amd64.h"

// AVX2 dot products of the legacy 5-bit formats against raw activation
// blocks: Q5_0 (22 bytes: f16 d, qh[4], qs[16]) x Q8_0 and Q5_1 (24 bytes:
// f16 d, f16 m, qh[4], qs[16]) x Q8_1. Element j < 16 is the low nibble of
// qs[j] with bit j of qh as bit 4; element j+16 the high nibble with bit
// j+16. As in dot_amd64.s, the exact int32 sums of four blocks land in the
// lanes of one XMM register, the per-block float terms are computed lane-wise
// with the operations (and roundings) of dotQ5_0/dotQ5_1, and the running
// float32 sum takes them in block order (one-row kernels) or keeps one row
// or token per lane (r4 and x4 kernels).
//
// Registers: SI weights, DI activations, CX blocks left, DX out, X12 running
// sum(s), Y15 int16 ones, Y14 0x0F bytes, Y13 even/odd permutation (Q5_1),
// Y11 0x10 bytes, Y10 qh byte spread, Y9 bit k%8 of byte k; Y0..Y8 scratch.

// q5spread: byte k of the broadcast qh dword that holds bit k (vpshufb works
// per 128-bit lane, so the high lane picks bytes 2 and 3).
DATA q5spread<>+0(SB)/8, $0x0000000000000000
DATA q5spread<>+8(SB)/8, $0x0101010101010101
DATA q5spread<>+16(SB)/8, $0x0202020202020202
DATA q5spread<>+24(SB)/8, $0x0303030303030303
GLOBL q5spread<>(SB), RODATA|NOPTR, $32

DATA q5bit<>+0(SB)/8, $0x8040201008040201
DATA q5bit<>+8(SB)/8, $0x8040201008040201
DATA q5bit<>+16(SB)/8, $0x8040201008040201
DATA q5bit<>+24(SB)/8, $0x8040201008040201
GLOBL q5bit<>(SB), RODATA|NOPTR, $32

// q5nibsh: vpsrlvd counts, 0 for the low lane (low nibbles), 4 for the high.
DATA q5nibsh<>+0(SB)/8, $0
DATA q5nibsh<>+8(SB)/8, $0
DATA q5nibsh<>+16(SB)/8, $0x0000000400000004
DATA q5nibsh<>+24(SB)/8, $0x0000000400000004
GLOBL q5nibsh<>(SB), RODATA|NOPTR, $32

#define Q5SETUP \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW $15, Y15, Y15; \
	MOVL $0x0F0F0F0F, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
	MOVL $0x10101010, AX; \
	VMOVD AX, X11; \
	VPBROADCASTD X11, Y11; \
	VMOVDQU q5spread<>(SB), Y10; \
	VMOVDQU q5bit<>(SB), Y9; \
	VMOVDQU evenodd<>(SB), Y13; \
	VXORPS X12, X12, X12

// Frame loads of the x4 (four tokens) and r4 (four rows) kernels, defined
// before the first TEXT so that vet's frame check sees them outside any
// function.
#define Q5X4SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ x+8(FP), DI; \
	MOVQ xs+16(FP), R8; \
	MOVQ nb+24(FP), CX; \
	MOVQ out+32(FP), DX; \
	LEAQ (DI)(R8*1), R9; \
	LEAQ (R9)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11; \
	Q5SETUP

// R12 = 8*ws for R4PREFETCH.
#define Q5R4SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ ws+8(FP), R8; \
	MOVQ x+16(FP), DI; \
	MOVQ nb+24(FP), CX; \
	MOVQ out+32(FP), DX; \
	LEAQ (SI)(R8*1), R9; \
	LEAQ (R9)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11; \
	Q5SETUP; \
	LEAQ (R8)(R8*1), R12; \
	SHLQ $2, R12

// Q5Q leaves in Y1 the 32 unsigned 5-bit quants of the block with qh at qh
// and qs at qs: elements 0..15 in the low lane, 16..31 in the high lane
// (Y0 clobbered). The nibbles are qs in both lanes, the high lane shifted
// right by 4 (a dword shift, masked per byte after), and bit k of qh becomes
// 0x10 in byte k: vpshufb brings qh byte k/8 to byte k, where the q5bit
// mask and vpcmpeqb test bit k%8.
#define Q5Q(qh, qs) \
	VPBROADCASTD qh, Y0; \
	VPSHUFB Y10, Y0, Y0; \
	VPAND Y9, Y0, Y0; \
	VPCMPEQB Y9, Y0, Y0; \
	VPAND Y11, Y0, Y0; \
	VBROADCASTI128 qs, Y1; \
	VPSRLVD q5nibsh<>(SB), Y1, Y1; \
	VPAND Y14, Y1, Y1; \
	VPOR Y0, Y1, Y1

// Q51 leaves in R the 8 int32 partial sums of Σ q*x (q in 0..31, so the
// vpmaddubsw pairs stay within ±7936).
#define Q51(qh, qs, xq, R) \
	Q5Q(qh, qs); \
	VPMADDUBSW xq, Y1, R; \
	VPMADDWD Y15, R, R

// Q50: Σ (q-16)*x = maddubs(q, x) - maddubs(16, x), exact for every int8 x
// (each int16 pair stays within ±12000).
#define Q50(qh, qs, xq, R) \
	Q5Q(qh, qs); \
	VMOVDQU xq, Y3; \
	VPMADDUBSW Y3, Y1, R; \
	VPMADDUBSW Y3, Y11, Y2; \
	VPSUBW Y2, R, R; \
	VPMADDWD Y15, R, R

// Q51SCALE finishes four Q5_1 block terms: X2 holds [dw mw] pairs and X3
// [dx sx] pairs (f16); X4 becomes float32(float32(dw*dx)*sumi) +
// float32(mw*sx) lane-wise.
#define Q51SCALE \
	VCVTPH2PS X2, Y2; \
	VCVTPH2PS X3, Y3; \
	VMULPS Y3, Y2, Y2; \
	VPERMPS Y2, Y13, Y2; \
	VMULPS X2, X4, X4; \
	VEXTRACTF128 $1, Y2, X2; \
	VADDPS X2, X4, X4

// Q50SCALE finishes four Q5_0 block terms: X2 holds dw, X3 dx (f16, low
// four words); X4 becomes float32(float32(dw*dx)*sumi) lane-wise.
#define Q50SCALE \
	VCVTPH2PS X2, X2; \
	VCVTPH2PS X3, X3; \
	VMULPS X3, X2, X2; \
	VMULPS X2, X4, X4

// func dotQ5_0Q8_0AVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(float32(dw*dx) * float32(sumi)).
TEXT ·dotQ5_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	Q5SETUP
	CMPQ CX, $4
	JLT q50tail
q50loop4:
	Q50(2(SI), 6(SI), 2(DI), Y4)
	Q50(24(SI), 28(SI), 36(DI), Y5)
	Q50(46(SI), 50(SI), 70(DI), Y6)
	Q50(68(SI), 72(SI), 104(DI), Y7)
	HSUM4
	VMOVD (SI), X2
	VPINSRW $1, 22(SI), X2, X2
	VPINSRW $2, 44(SI), X2, X2
	VPINSRW $3, 66(SI), X2, X2
	VMOVD (DI), X3
	VPINSRW $1, 34(DI), X3, X3
	VPINSRW $2, 68(DI), X3, X3
	VPINSRW $3, 102(DI), X3, X3
	Q50SCALE
	ADD4
	ADDQ $88, SI
	ADDQ $136, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE q50loop4
q50tail:
	TESTQ CX, CX
	JEQ q50done
q50loop1:
	Q50(2(SI), 6(SI), 2(DI), Y4)
	HSUM1
	VMOVD (SI), X2
	VMOVD (DI), X3
	VCVTPH2PS X2, X2
	VCVTPH2PS X3, X3
	VMULSS X3, X2, X2
	VMULSS X2, X4, X4
	VADDSS X4, X12, X12
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q50loop1
q50done:
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// func dotQ5_1Q8_1AVX2(w, x *byte, nb int) float32
// Per block: sumf += float32(float32(dw*dx)*float32(sumi)) + float32(mw*sx).
TEXT ·dotQ5_1Q8_1AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	Q5SETUP
	CMPQ CX, $4
	JLT q51tail
q51loop4:
	Q51(4(SI), 8(SI), 4(DI), Y4)
	Q51(28(SI), 32(SI), 40(DI), Y5)
	Q51(52(SI), 56(SI), 76(DI), Y6)
	Q51(76(SI), 80(SI), 112(DI), Y7)
	HSUM4
	VMOVD (SI), X2
	VPINSRD $1, 24(SI), X2, X2
	VPINSRD $2, 48(SI), X2, X2
	VPINSRD $3, 72(SI), X2, X2
	VMOVD (DI), X3
	VPINSRD $1, 36(DI), X3, X3
	VPINSRD $2, 72(DI), X3, X3
	VPINSRD $3, 108(DI), X3, X3
	Q51SCALE
	ADD4
	ADDQ $96, SI
	ADDQ $144, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE q51loop4
q51tail:
	TESTQ CX, CX
	JEQ q51done
q51loop1:
	Q51(4(SI), 8(SI), 4(DI), Y4)
	HSUM1
	VMOVD (SI), X2
	VMOVD (DI), X3
	VCVTPH2PS X2, X2
	VCVTPH2PS X3, X3
	VMULPS X3, X2, X2 // [dw*dx, mw*sx]
	VMULSS X2, X4, X4
	VMOVSHDUP X2, X3
	VADDSS X3, X4, X4
	VADDSS X4, X12, X12
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q51loop1
q51done:
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET

// Four-token kernels (prefill): one weight row against the activation rows
// DI, R9, R10, R11 (byte stride xs); each weight block is unpacked once for
// the four tokens, whose running sums are the lanes of X12.

// func mulQ5_0Q8_0x4AVX2(w, x *byte, xs, nb int, out *[4]float32)
TEXT ·mulQ5_0Q8_0x4AVX2(SB), NOSPLIT, $0-40
	Q5X4SETUP
q50x4loop:
	Q5Q(2(SI), 6(SI))
	X4OFFSETSUMS(2) // q5 - 16
	VPBROADCASTW (SI), X2
	GATHER16(X3, (DI), (R9), (R10), (R11))
	Q50SCALE
	VADDPS X4, X12, X12
	X4NEXT(22, 34)
	JNZ q50x4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func mulQ5_1Q8_1x4AVX2(w, x *byte, xs, nb int, out *[4]float32)
TEXT ·mulQ5_1Q8_1x4AVX2(SB), NOSPLIT, $0-40
	Q5X4SETUP
q51x4loop:
	Q5Q(4(SI), 8(SI))
	VPMADDUBSW 4(DI), Y1, Y4
	VPMADDWD Y15, Y4, Y4
	VPMADDUBSW 4(R9), Y1, Y5
	VPMADDWD Y15, Y5, Y5
	VPMADDUBSW 4(R10), Y1, Y6
	VPMADDWD Y15, Y6, Y6
	VPMADDUBSW 4(R11), Y1, Y7
	VPMADDWD Y15, Y7, Y7
	HSUM4
	VPBROADCASTD (SI), X2
	VMOVD (DI), X3
	VPINSRD $1, (R9), X3, X3
	VPINSRD $2, (R10), X3, X3
	VPINSRD $3, (R11), X3, X3
	Q51SCALE
	VADDPS X4, X12, X12
	X4NEXT(24, 36)
	JNZ q51x4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// Four-row kernels (decode): the weight rows SI, R9, R10, R11 (byte stride
// ws) against one activation row, whose block is loaded once for the four.

// func dotQ5_0Q8_0r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ5_0Q8_0r4AVX2(SB), NOSPLIT, $0-40
	Q5R4SETUP
q50r4loop:
	R4PREFETCH
	VMOVDQU 2(DI), Y3
	VPMADDUBSW Y3, Y11, Y8 // 16 * Σx, shared by the four rows
	Q5Q(2(SI), 6(SI))
	VPMADDUBSW Y3, Y1, Y4
	VPSUBW Y8, Y4, Y4
	Q5Q(2(R9), 6(R9))
	VPMADDUBSW Y3, Y1, Y5
	VPSUBW Y8, Y5, Y5
	Q5Q(2(R10), 6(R10))
	VPMADDUBSW Y3, Y1, Y6
	VPSUBW Y8, Y6, Y6
	Q5Q(2(R11), 6(R11))
	VPMADDUBSW Y3, Y1, Y7
	VPSUBW Y8, Y7, Y7
	VPMADDWD Y15, Y4, Y4
	VPMADDWD Y15, Y5, Y5
	VPMADDWD Y15, Y6, Y6
	VPMADDWD Y15, Y7, Y7
	HSUM4
	GATHER16(X2, (SI), (R9), (R10), (R11))
	VPBROADCASTW (DI), X3
	Q50SCALE
	VADDPS X4, X12, X12
	R4NEXT(22, 34)
	JNZ q50r4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET

// func dotQ5_1Q8_1r4AVX2(w *byte, ws int, x *byte, nb int, out *[4]float32)
TEXT ·dotQ5_1Q8_1r4AVX2(SB), NOSPLIT, $0-40
	Q5R4SETUP
q51r4loop:
	R4PREFETCH
	VMOVDQU 4(DI), Y3
	Q51(4(SI), 8(SI), Y3, Y4)
	Q51(4(R9), 8(R9), Y3, Y5)
	Q51(4(R10), 8(R10), Y3, Y6)
	Q51(4(R11), 8(R11), Y3, Y7)
	HSUM4
	VMOVD (SI), X2
	VPINSRD $1, (R9), X2, X2
	VPINSRD $2, (R10), X2, X2
	VPINSRD $3, (R11), X2, X2
	VPBROADCASTD (DI), X3
	Q51SCALE
	VADDPS X4, X12, X12
	R4NEXT(24, 36)
	JNZ q51r4loop
	VMOVUPS X12, (DX)
	VZEROUPPER
	RET
