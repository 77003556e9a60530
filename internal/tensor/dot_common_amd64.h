// Constants and macros shared by the legacy, Q5 and K-quant kernels
// (dot_amd64.s, dot_q5_amd64.s, dot_k_amd64.h). Nothing here touches the
// argument frame (vet's frame check does not read included files). DATA
// symbols with <> are local to each including file.

// evenodd is the VPERMPS index that gathers the even then the odd float
// lanes: [d0 m0 d1 m1 ...] -> [d0 d1 d2 d3 | m0 m1 m2 m3].
DATA evenodd<>+0(SB)/4, $0
DATA evenodd<>+4(SB)/4, $2
DATA evenodd<>+8(SB)/4, $4
DATA evenodd<>+12(SB)/4, $6
DATA evenodd<>+16(SB)/4, $1
DATA evenodd<>+20(SB)/4, $3
DATA evenodd<>+24(SB)/4, $5
DATA evenodd<>+28(SB)/4, $7
GLOBL evenodd<>(SB), RODATA|NOPTR, $32

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

// Pointer walks of the four-token (x4: weights SI, activation rows DI, R9,
// R10, R11) and four-row (r4: weight rows SI, R9, R10, R11, activations DI)
// kernels; the frame loads stay in each .s file, where vet checks them.

// X4GATHER loads the dword at offset off of the four activation blocks into X9.
#define X4GATHER(off) \
	VMOVD off(DI), X9; \
	VPINSRD $1, off(R9), X9, X9; \
	VPINSRD $2, off(R10), X9, X9; \
	VPINSRD $3, off(R11), X9, X9

#define X4NEXT(wb, xb) \
	ADDQ $wb, SI; \
	ADDQ $xb, DI; \
	ADDQ $xb, R9; \
	ADDQ $xb, R10; \
	ADDQ $xb, R11; \
	DECQ CX

#define R4NEXT(wb, xb) \
	ADDQ $wb, SI; \
	ADDQ $wb, R9; \
	ADDQ $wb, R10; \
	ADDQ $wb, R11; \
	ADDQ $xb, DI; \
	DECQ CX

// R4PREFETCH asks for the same blocks eight rows ahead (the group after
// next): the hardware prefetcher loses the four interleaved streams at page
// boundaries, and without it a decode step streams weights at a third of
// the in-cache speed (4.6 vs 12.7 GB/s on a 42 MB Q4_1 matrix).
#define R4PREFETCH \
	PREFETCHT0 (SI)(R12*1); \
	PREFETCHT0 (R9)(R12*1); \
	PREFETCHT0 (R10)(R12*1); \
	PREFETCHT0 (R11)(R12*1)

// GATHER16(x, a, b, c, d) loads the f16 word at each of the four
// addresses into the low four words of x.
#define GATHER16(x, a, b, c, d) \
	VMOVD a, x; \
	VPINSRW $1, b, x, x; \
	VPINSRW $2, c, x, x; \
	VPINSRW $3, d, x, x

// X4OFFSETSUMS leaves in X4 the four tokens' float block sums
// Σ (u - c) * x = maddubs(u, x) - maddubs(c, x) (exact for every int8 x),
// with the unsigned quants u in Y1, c bytes in Y11 and the activation quants
// at off of DI, R9, R10, R11 (Q4_0 and Q5_0).
#define X4OFFSETSUMS(off) \
	VPMADDUBSW off(DI), Y1, Y4; \
	VPMADDUBSW off(R9), Y1, Y5; \
	VPMADDUBSW off(R10), Y1, Y6; \
	VPMADDUBSW off(R11), Y1, Y7; \
	VPMADDUBSW off(DI), Y11, Y2; \
	VPSUBW Y2, Y4, Y4; \
	VPMADDUBSW off(R9), Y11, Y2; \
	VPSUBW Y2, Y5, Y5; \
	VPMADDUBSW off(R10), Y11, Y2; \
	VPSUBW Y2, Y6, Y6; \
	VPMADDUBSW off(R11), Y11, Y2; \
	VPSUBW Y2, Y7, Y7; \
	VPMADDWD Y15, Y4, Y4; \
	VPMADDWD Y15, Y5, Y5; \
	VPMADDWD Y15, Y6, Y6; \
	VPMADDWD Y15, Y7, Y7; \
	HSUM4
