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
