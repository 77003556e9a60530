#include "dot_common_amd64.h"

// Constants and macros shared by the K-quant kernels (dot_k_amd64.s,
// dot_k_x4_amd64.s). Vet's frame check does not read included files, so
// nothing here touches the argument frame: each TEXT loads its own.
//
// Register conventions: SI weights, DI activations, CX super-blocks left,
// DX out, Y15 0x0F bytes, Y14 the Q5_K 5th-bit / Q6_K high-bits mask, X12
// running sum(s); the Q4_K/Q5_K kernels keep their scales in a 32-byte frame.

// Q4_K/Q5_K scale unpacking (kScales): from u = [u0 u1 u2] build
// [s0 s1 m0 m1] as (u[0 2 1 2] >> [0 0 0 4]) & klo | (u[0 0 1 1] >> 2) & khi.
DATA k4shift<>+0(SB)/4, $0
DATA k4shift<>+4(SB)/4, $0
DATA k4shift<>+8(SB)/4, $0
DATA k4shift<>+12(SB)/4, $4
GLOBL k4shift<>(SB), RODATA|NOPTR, $16

DATA k4lo<>+0(SB)/4, $0x3f3f3f3f
DATA k4lo<>+4(SB)/4, $0x0f0f0f0f
DATA k4lo<>+8(SB)/4, $0x3f3f3f3f
DATA k4lo<>+12(SB)/4, $0x0f0f0f0f
GLOBL k4lo<>(SB), RODATA|NOPTR, $16

DATA k4hi<>+0(SB)/4, $0
DATA k4hi<>+4(SB)/4, $0x30303030
DATA k4hi<>+8(SB)/4, $0
DATA k4hi<>+12(SB)/4, $0x30303030
GLOBL k4hi<>(SB), RODATA|NOPTR, $16

// shufk6 entry m broadcasts word 2m over the low lane and word 2m+1 over the
// high lane: the Q6_K scales of the two 16-element sub-blocks that one
// 32-byte vpmaddubsw covers (vpshufb cannot cross lanes, so the source holds
// the same eight scales in both lanes).
DATA shufk6<>+0(SB)/8, $0x0100010001000100
DATA shufk6<>+8(SB)/8, $0x0100010001000100
DATA shufk6<>+16(SB)/8, $0x0302030203020302
DATA shufk6<>+24(SB)/8, $0x0302030203020302
DATA shufk6<>+32(SB)/8, $0x0504050405040504
DATA shufk6<>+40(SB)/8, $0x0504050405040504
DATA shufk6<>+48(SB)/8, $0x0706070607060706
DATA shufk6<>+56(SB)/8, $0x0706070607060706
DATA shufk6<>+64(SB)/8, $0x0908090809080908
DATA shufk6<>+72(SB)/8, $0x0908090809080908
DATA shufk6<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufk6<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufk6<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufk6<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufk6<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufk6<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL shufk6<>(SB), RODATA|NOPTR, $128

// KPTRS points R9..R11 at the rows after base at stride R8 (weight rows
// of the r4 kernels, activation rows of the x4 ones).
#define KPTRS(base) \
	LEAQ (base)(R8*1), R9; \
	LEAQ (R9)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11

// BYTES sets every byte of Y to v (AX clobbered).
#define BYTES(v, X, Y) \
	MOVL v, AX; \
	VMOVD AX, X; \
	VPBROADCASTD X, Y

// KPF asks for the super-block eight rows ahead (the group after next), one
// prefetch per cache line of it: as for the legacy r4 kernels, the hardware
// prefetcher loses four interleaved row streams at page boundaries (without
// it a 55 MB Q6_K matrix streams at 7 instead of 19 GB/s, Q4_K 12 vs 15).
#define KPF(off) \
	PREFETCHT0 off(SI)(R12*1); \
	PREFETCHT0 off(R9)(R12*1); \
	PREFETCHT0 off(R10)(R12*1); \
	PREFETCHT0 off(R11)(R12*1)

#define KR4NEXT(wb) \
	ADDQ $wb, SI; \
	ADDQ $wb, R9; \
	ADDQ $wb, R10; \
	ADDQ $wb, R11; \
	ADDQ $292, DI; \
	DECQ CX

// K4PREP unpacks the scales and mins of the Q4_K/Q5_K block at row: the
// eight scales as int16 pairs (sc, sc) in the dwords of the 32-byte frame,
// whence vpbroadcastd spreads them with a plain load (5% faster than a
// vpshufb per sub-block), and in Y10 the 8 int32 partial sums of the min
// term Σ bsums[j]*mins[j/2] (mins doubled so that vpmaddwd pairs them with
// both bsums of their sub-block: summing the bsums in int16 first, as ggml
// does, would overflow on arbitrary activation bytes, where Go is exact).
#define K4PREP(row) \
	K4SC(row); \
	VPMADDWD 260(DI), Y10, Y10

// K4SC is K4PREP without the min term: Y10 holds the doubled mins as int16.
#define K4SC(row) \
	VMOVDQU 4(row), X0; \
	VPSHUFD $0x98, X0, X1; \
	VPSRLVD k4shift<>(SB), X1, X1; \
	VPAND k4lo<>(SB), X1, X1; \
	VPSHUFD $0x50, X0, X0; \
	VPSRLD $2, X0, X0; \
	VPAND k4hi<>(SB), X0, X0; \
	VPOR X1, X0, X0; \
	VPUNPCKLBW X0, X0, X1; \
	VPMOVZXBW X1, Y1; \
	VMOVDQU Y1, 0(SP); \
	VPUNPCKHBW X0, X0, X0; \
	VPMOVZXBW X0, Y10

// K4DOT adds to ACC the scaled sums of the 32 quants in Y0 (scale at frame
// offset slo) against x at xlo and of Y1 (slo+4) against xhi.
#define K4DOT(xlo, xhi, slo, shi, ACC) \
	VPMADDUBSW xlo(DI), Y0, Y0; \
	VPMADDUBSW xhi(DI), Y1, Y1; \
	VPBROADCASTD slo(SP), Y2; \
	VPBROADCASTD shi(SP), Y3; \
	VPMADDWD Y2, Y0, Y0; \
	VPMADDWD Y3, Y1, Y1; \
	VPADDD Y0, ACC, ACC; \
	VPADDD Y1, ACC, ACC

// Q4NIB: 64 elements, low nibbles of the 32 bytes at q in Y0, high in Y1.
#define Q4NIB(row, q) \
	VMOVDQU q(row), Y0; \
	VPSRLW $4, Y0, Y1; \
	VPAND Y15, Y0, Y0; \
	VPAND Y15, Y1, Y1

#define Q4KC(row, q, xlo, xhi, slo, shi, ACC) \
	Q4NIB(row, q); \
	K4DOT(xlo, xhi, slo, shi, ACC)

// Q4KROW leaves in ACC [i i m m | i i m m], partial sums of the scaled
// quant sum (i) and of the min term (m) of the block at row.
#define Q4KROW(row, ACC) \
	K4PREP(row); \
	VPXOR ACC, ACC, ACC; \
	Q4KC(row, 16, 4, 36, 0, 4, ACC); \
	Q4KC(row, 48, 68, 100, 8, 12, ACC); \
	Q4KC(row, 80, 132, 164, 16, 20, ACC); \
	Q4KC(row, 112, 196, 228, 24, 28, ACC); \
	VPHADDD Y10, ACC, ACC

// Q5HB adds the 5th bits to Q4NIB's Y0, Y1: bits 0 and 1 of each byte of
// Y9 (qh, shifted right by 2 per chunk; word shifts are fine because only
// bits that stay inside their byte are kept) moved to bit 4.
#define Q5HB \
	VPSLLW $4, Y9, Y2; \
	VPAND Y14, Y2, Y2; \
	VPOR Y2, Y0, Y0; \
	VPSLLW $3, Y9, Y2; \
	VPAND Y14, Y2, Y2; \
	VPOR Y2, Y1, Y1

#define Q5KC(row, q, xlo, xhi, slo, shi, ACC) \
	Q4NIB(row, q); \
	Q5HB; \
	K4DOT(xlo, xhi, slo, shi, ACC)

#define Q5KROW(row, ACC) \
	K4PREP(row); \
	VMOVDQU 16(row), Y9; \
	VPXOR ACC, ACC, ACC; \
	Q5KC(row, 48, 4, 36, 0, 4, ACC); \
	VPSRLW $2, Y9, Y9; \
	Q5KC(row, 80, 68, 100, 8, 12, ACC); \
	VPSRLW $2, Y9, Y9; \
	Q5KC(row, 112, 132, 164, 16, 20, ACC); \
	VPSRLW $2, Y9, Y9; \
	Q5KC(row, 144, 196, 228, 24, 28, ACC); \
	VPHADDD Y10, ACC, ACC

// Q6_K: raw sums of the unsigned 6-bit quants q times the int8 scales, minus
// 32*Σ scale*bsum (Go: Σ sc*(raw - 32*bsum), equal in int32 arithmetic).

// Q6DOT adds to ACC the sums of the 32 quants in Y3 against x at xoff,
// scaled per 16-element sub-block (shufk6 entry at soff of S).
#define Q6DOT(xoff, soff, S, ACC) \
	VPMADDUBSW xoff(DI), Y3, Y3; \
	VPSHUFB shufk6<>+soff(SB), S, Y13; \
	VPMADDWD Y13, Y3, Y3; \
	VPADDD Y3, ACC, ACC

// Q6LOAD loads one 128-element half as in q6kChunk: ql at lo and hi into Y0
// and Y1, qh into Y2. Q6Q1..Q6Q4 then build its four runs of 32 6-bit quants
// in Y3, in this order (Q6Q3 and Q6Q4 consume Y0 and Y1); Y14 = 0x30 picks
// the two high bits once shifted to bits 4 and 5.
#define Q6LOAD(row, lo, hi, qh) \
	VMOVDQU lo(row), Y0; \
	VMOVDQU hi(row), Y1; \
	VMOVDQU qh(row), Y2

#define Q6Q1 \
	VPSLLW $4, Y2, Y3; \
	VPAND Y14, Y3, Y3; \
	VPAND Y15, Y0, Y13; \
	VPOR Y13, Y3, Y3

#define Q6Q2 \
	VPSLLW $2, Y2, Y3; \
	VPAND Y14, Y3, Y3; \
	VPAND Y15, Y1, Y13; \
	VPOR Y13, Y3, Y3

#define Q6Q3 \
	VPAND Y14, Y2, Y3; \
	VPSRLW $4, Y0, Y0; \
	VPAND Y15, Y0, Y0; \
	VPOR Y0, Y3, Y3

#define Q6Q4 \
	VPSRLW $2, Y2, Y3; \
	VPAND Y14, Y3, Y3; \
	VPSRLW $4, Y1, Y1; \
	VPAND Y15, Y1, Y1; \
	VPOR Y1, Y3, Y3

#define Q6KC(row, lo, hi, qh, x0, x1, x2, x3, S, ACC) \
	Q6LOAD(row, lo, hi, qh); \
	Q6Q1; \
	Q6DOT(x0, 0, S, ACC); \
	Q6Q2; \
	Q6DOT(x1, 32, S, ACC); \
	Q6Q3; \
	Q6DOT(x2, 64, S, ACC); \
	Q6Q4; \
	Q6DOT(x3, 96, S, ACC)

// Q6KROW leaves in ACC the 8 int32 partial sums of isum for the block at
// row (Y8..Y11 clobbered).
#define Q6KROW(row, ACC) \
	VPMOVSXBW 192(row), Y11; \
	VPERMQ $0x44, Y11, Y10; \
	VPERMQ $0xEE, Y11, Y9; \
	VPMADDWD 260(DI), Y11, Y8; \
	VPSLLD $5, Y8, Y8; \
	VPXOR ACC, ACC, ACC; \
	VPSUBD Y8, ACC, ACC; \
	Q6KC(row, 0, 32, 128, 4, 36, 68, 100, Y10, ACC); \
	Q6KC(row, 64, 96, 160, 132, 164, 196, 228, Y9, ACC)

