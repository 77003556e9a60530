//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA(+F16C) attention kernels over one block of keys (kern_amd64.go).
// hd must be a positive multiple of 8. Each dot product accumulates in up to
// four 8-lane registers (32-element chunks, then 8-element chunks into the
// first), reduced pairwise; the result differs from the scalar Go dot only by
// float32 summation order.

// REDUCE sums Y0..Y3 into the low lane of X0 and multiplies by X15.
#define REDUCE \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0; \
	VMULSS X15, X0, X0

// Frame loads of the x8 kernels; R11 = key row stride of esz-byte elements.
#define SCORES8SETUP(esz) \
	MOVQ q+0(FP), SI; \
	MOVQ k+8(FP), DI; \
	MOVQ n+16(FP), CX; \
	MOVQ hd+24(FP), DX; \
	VBROADCASTSS scale+32(FP), Y15; \
	MOVQ out+40(FP), R8; \
	MOVQ DX, R11; \
	IMULQ $esz, R11

// func scoresF32(q, k *float32, n, hd int, scale float32, out *float32)
// out[j] = scale * q·k[j*hd:(j+1)*hd] for j < n.
TEXT ·scoresF32(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ hd+24(FP), DX
	VMOVSS scale+32(FP), X15
	MOVQ out+40(FP), R8
f32key:
	TESTQ CX, CX
	JZ f32done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R9
	MOVQ DX, R10
f32c32:
	CMPQ R10, $32
	JB f32c8
	VMOVUPS (R9), Y4
	VMOVUPS 32(R9), Y5
	VMOVUPS 64(R9), Y6
	VMOVUPS 96(R9), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, R9
	ADDQ $128, DI
	SUBQ $32, R10
	JMP f32c32
f32c8:
	TESTQ R10, R10
	JZ f32red
	VMOVUPS (R9), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $8, R10
	JMP f32c8
f32red:
	REDUCE
	VMOVSS X0, (R8)
	ADDQ $4, R8
	DECQ CX
	JMP f32key
f32done:
	VZEROUPPER
	RET

// func scoresF16(q *float32, k *uint16, n, hd int, scale float32, out *float32)
// As scoresF32 with binary16 keys (converted exactly by VCVTPH2PS).
TEXT ·scoresF16(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ hd+24(FP), DX
	VMOVSS scale+32(FP), X15
	MOVQ out+40(FP), R8
f16key:
	TESTQ CX, CX
	JZ f16done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R9
	MOVQ DX, R10
f16c32:
	CMPQ R10, $32
	JB f16c8
	VCVTPH2PS (DI), Y4
	VCVTPH2PS 16(DI), Y5
	VCVTPH2PS 32(DI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS (R9), Y4, Y0
	VFMADD231PS 32(R9), Y5, Y1
	VFMADD231PS 64(R9), Y6, Y2
	VFMADD231PS 96(R9), Y7, Y3
	ADDQ $128, R9
	ADDQ $64, DI
	SUBQ $32, R10
	JMP f16c32
f16c8:
	TESTQ R10, R10
	JZ f16red
	VCVTPH2PS (DI), Y4
	VFMADD231PS (R9), Y4, Y0
	ADDQ $32, R9
	ADDQ $16, DI
	SUBQ $8, R10
	JMP f16c8
f16red:
	REDUCE
	VMOVSS X0, (R8)
	ADDQ $4, R8
	DECQ CX
	JMP f16key
f16done:
	VZEROUPPER
	RET

// func accumF32(acc, p, v *float32, n, hd int)
// acc[e] += Σ_{j<n} p[j]*v[j*hd+e] for e < hd; 64 columns at a time held in
// Y0..Y7 across all n rows, then 8 at a time.
TEXT ·accumF32(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), DX
	MOVQ DX, R11
	SHLQ $2, R11 // row stride in bytes
af32c64:
	CMPQ DX, $64
	JB af32c8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ SI, R9
	MOVQ R8, R10
	MOVQ CX, BX
af32r64:
	TESTQ BX, BX
	JZ af32s64
	VBROADCASTSS (R9), Y8
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS 32(R10), Y8, Y1
	VFMADD231PS 64(R10), Y8, Y2
	VFMADD231PS 96(R10), Y8, Y3
	VFMADD231PS 128(R10), Y8, Y4
	VFMADD231PS 160(R10), Y8, Y5
	VFMADD231PS 192(R10), Y8, Y6
	VFMADD231PS 224(R10), Y8, Y7
	ADDQ $4, R9
	ADDQ R11, R10
	DECQ BX
	JMP af32r64
af32s64:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $256, R8
	SUBQ $64, DX
	JMP af32c64
af32c8:
	TESTQ DX, DX
	JZ af32done
	VMOVUPS (DI), Y0
	MOVQ SI, R9
	MOVQ R8, R10
	MOVQ CX, BX
af32r8:
	TESTQ BX, BX
	JZ af32s8
	VBROADCASTSS (R9), Y8
	VFMADD231PS (R10), Y8, Y0
	ADDQ $4, R9
	ADDQ R11, R10
	DECQ BX
	JMP af32r8
af32s8:
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, DX
	JMP af32c8
af32done:
	VZEROUPPER
	RET

// func accumF16(acc, p *float32, v *uint16, n, hd int)
// As accumF32 with binary16 values.
TEXT ·accumF16(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), DX
	MOVQ DX, R11
	SHLQ $1, R11 // row stride in bytes
af16c64:
	CMPQ DX, $64
	JB af16c8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ SI, R9
	MOVQ R8, R10
	MOVQ CX, BX
af16r64:
	TESTQ BX, BX
	JZ af16s64
	VBROADCASTSS (R9), Y8
	VCVTPH2PS (R10), Y9
	VCVTPH2PS 16(R10), Y10
	VCVTPH2PS 32(R10), Y11
	VCVTPH2PS 48(R10), Y12
	VFMADD231PS Y9, Y8, Y0
	VFMADD231PS Y10, Y8, Y1
	VFMADD231PS Y11, Y8, Y2
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS 64(R10), Y9
	VCVTPH2PS 80(R10), Y10
	VCVTPH2PS 96(R10), Y11
	VCVTPH2PS 112(R10), Y12
	VFMADD231PS Y9, Y8, Y4
	VFMADD231PS Y10, Y8, Y5
	VFMADD231PS Y11, Y8, Y6
	VFMADD231PS Y12, Y8, Y7
	ADDQ $4, R9
	ADDQ R11, R10
	DECQ BX
	JMP af16r64
af16s64:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $128, R8
	SUBQ $64, DX
	JMP af16c64
af16c8:
	TESTQ DX, DX
	JZ af16done
	VMOVUPS (DI), Y0
	MOVQ SI, R9
	MOVQ R8, R10
	MOVQ CX, BX
af16r8:
	TESTQ BX, BX
	JZ af16s8
	VBROADCASTSS (R9), Y8
	VCVTPH2PS (R10), Y9
	VFMADD231PS Y9, Y8, Y0
	ADDQ $4, R9
	ADDQ R11, R10
	DECQ BX
	JMP af16r8
af16s8:
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $16, R8
	SUBQ $8, DX
	JMP af16c8
af16done:
	VZEROUPPER
	RET

// Constants of expShiftAVX2, each broadcast to 8 lanes: log2e, ln2hi, ln2lo,
// 1/7!..1/2!, 1, -87.33, int 127.
DATA expc<>+0(SB)/4, $0x3fb8aa3b
DATA expc<>+4(SB)/4, $0x3fb8aa3b
DATA expc<>+8(SB)/4, $0x3fb8aa3b
DATA expc<>+12(SB)/4, $0x3fb8aa3b
DATA expc<>+16(SB)/4, $0x3fb8aa3b
DATA expc<>+20(SB)/4, $0x3fb8aa3b
DATA expc<>+24(SB)/4, $0x3fb8aa3b
DATA expc<>+28(SB)/4, $0x3fb8aa3b
DATA expc<>+32(SB)/4, $0x3f317200
DATA expc<>+36(SB)/4, $0x3f317200
DATA expc<>+40(SB)/4, $0x3f317200
DATA expc<>+44(SB)/4, $0x3f317200
DATA expc<>+48(SB)/4, $0x3f317200
DATA expc<>+52(SB)/4, $0x3f317200
DATA expc<>+56(SB)/4, $0x3f317200
DATA expc<>+60(SB)/4, $0x3f317200
DATA expc<>+64(SB)/4, $0x35bfbe8e
DATA expc<>+68(SB)/4, $0x35bfbe8e
DATA expc<>+72(SB)/4, $0x35bfbe8e
DATA expc<>+76(SB)/4, $0x35bfbe8e
DATA expc<>+80(SB)/4, $0x35bfbe8e
DATA expc<>+84(SB)/4, $0x35bfbe8e
DATA expc<>+88(SB)/4, $0x35bfbe8e
DATA expc<>+92(SB)/4, $0x35bfbe8e
DATA expc<>+96(SB)/4, $0x39500d01
DATA expc<>+100(SB)/4, $0x39500d01
DATA expc<>+104(SB)/4, $0x39500d01
DATA expc<>+108(SB)/4, $0x39500d01
DATA expc<>+112(SB)/4, $0x39500d01
DATA expc<>+116(SB)/4, $0x39500d01
DATA expc<>+120(SB)/4, $0x39500d01
DATA expc<>+124(SB)/4, $0x39500d01
DATA expc<>+128(SB)/4, $0x3ab60b61
DATA expc<>+132(SB)/4, $0x3ab60b61
DATA expc<>+136(SB)/4, $0x3ab60b61
DATA expc<>+140(SB)/4, $0x3ab60b61
DATA expc<>+144(SB)/4, $0x3ab60b61
DATA expc<>+148(SB)/4, $0x3ab60b61
DATA expc<>+152(SB)/4, $0x3ab60b61
DATA expc<>+156(SB)/4, $0x3ab60b61
DATA expc<>+160(SB)/4, $0x3c088889
DATA expc<>+164(SB)/4, $0x3c088889
DATA expc<>+168(SB)/4, $0x3c088889
DATA expc<>+172(SB)/4, $0x3c088889
DATA expc<>+176(SB)/4, $0x3c088889
DATA expc<>+180(SB)/4, $0x3c088889
DATA expc<>+184(SB)/4, $0x3c088889
DATA expc<>+188(SB)/4, $0x3c088889
DATA expc<>+192(SB)/4, $0x3d2aaaab
DATA expc<>+196(SB)/4, $0x3d2aaaab
DATA expc<>+200(SB)/4, $0x3d2aaaab
DATA expc<>+204(SB)/4, $0x3d2aaaab
DATA expc<>+208(SB)/4, $0x3d2aaaab
DATA expc<>+212(SB)/4, $0x3d2aaaab
DATA expc<>+216(SB)/4, $0x3d2aaaab
DATA expc<>+220(SB)/4, $0x3d2aaaab
DATA expc<>+224(SB)/4, $0x3e2aaaab
DATA expc<>+228(SB)/4, $0x3e2aaaab
DATA expc<>+232(SB)/4, $0x3e2aaaab
DATA expc<>+236(SB)/4, $0x3e2aaaab
DATA expc<>+240(SB)/4, $0x3e2aaaab
DATA expc<>+244(SB)/4, $0x3e2aaaab
DATA expc<>+248(SB)/4, $0x3e2aaaab
DATA expc<>+252(SB)/4, $0x3e2aaaab
DATA expc<>+256(SB)/4, $0x3f000000
DATA expc<>+260(SB)/4, $0x3f000000
DATA expc<>+264(SB)/4, $0x3f000000
DATA expc<>+268(SB)/4, $0x3f000000
DATA expc<>+272(SB)/4, $0x3f000000
DATA expc<>+276(SB)/4, $0x3f000000
DATA expc<>+280(SB)/4, $0x3f000000
DATA expc<>+284(SB)/4, $0x3f000000
DATA expc<>+288(SB)/4, $0x3f800000
DATA expc<>+292(SB)/4, $0x3f800000
DATA expc<>+296(SB)/4, $0x3f800000
DATA expc<>+300(SB)/4, $0x3f800000
DATA expc<>+304(SB)/4, $0x3f800000
DATA expc<>+308(SB)/4, $0x3f800000
DATA expc<>+312(SB)/4, $0x3f800000
DATA expc<>+316(SB)/4, $0x3f800000
DATA expc<>+320(SB)/4, $0xc2aea8f6
DATA expc<>+324(SB)/4, $0xc2aea8f6
DATA expc<>+328(SB)/4, $0xc2aea8f6
DATA expc<>+332(SB)/4, $0xc2aea8f6
DATA expc<>+336(SB)/4, $0xc2aea8f6
DATA expc<>+340(SB)/4, $0xc2aea8f6
DATA expc<>+344(SB)/4, $0xc2aea8f6
DATA expc<>+348(SB)/4, $0xc2aea8f6
DATA expc<>+352(SB)/4, $0x0000007f
DATA expc<>+356(SB)/4, $0x0000007f
DATA expc<>+360(SB)/4, $0x0000007f
DATA expc<>+364(SB)/4, $0x0000007f
DATA expc<>+368(SB)/4, $0x0000007f
DATA expc<>+372(SB)/4, $0x0000007f
DATA expc<>+376(SB)/4, $0x0000007f
DATA expc<>+380(SB)/4, $0x0000007f
GLOBL expc<>(SB), RODATA|NOPTR, $384

// func expShiftAVX2(x *float32, n int, m float32)
// x[j] = e^(x[j]-m) for j < n (n a multiple of 8), the method of exp32 with
// fused multiply-adds: n = round((x-m)*log2e), r = (x-m) - n*ln2 (two-part
// ln2), degree-7 Horner polynomial, scaled by 2^n through the exponent bits.
// Arguments below -87.33 (including -Inf) give 0; NaN stays NaN. Callers pass
// x <= m (m is the running max), so no overflow handling is needed.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VMOVUPS expc<>+0(SB), Y14
	VMOVUPS expc<>+32(SB), Y13
	VMOVUPS expc<>+64(SB), Y12
	VMOVUPS expc<>+320(SB), Y11
	VMOVUPS expc<>+352(SB), Y10
	VMOVUPS expc<>+96(SB), Y9
	VMOVUPS expc<>+288(SB), Y8
expl:
	CMPQ CX, $8
	JB expdone
	VMOVUPS (DI), Y0
	VSUBPS Y15, Y0, Y0            // x - m
	VMULPS Y14, Y0, Y1
	VROUNDPS $0, Y1, Y1           // n = round to nearest even
	VMOVAPS Y0, Y2
	VFNMADD231PS Y13, Y1, Y2      // r = x - n*ln2hi
	VFNMADD231PS Y12, Y1, Y2      // r -= n*ln2lo
	VMOVAPS Y9, Y3                // p = 1/7!
	VFMADD213PS expc<>+128(SB), Y2, Y3
	VFMADD213PS expc<>+160(SB), Y2, Y3
	VFMADD213PS expc<>+192(SB), Y2, Y3
	VFMADD213PS expc<>+224(SB), Y2, Y3
	VFMADD213PS expc<>+256(SB), Y2, Y3
	VFMADD213PS Y8, Y2, Y3
	VFMADD213PS Y8, Y2, Y3        // p = 1 + r*(1 + r*(...))
	VCVTPS2DQ Y1, Y4
	VPADDD Y10, Y4, Y4
	VPSLLD $23, Y4, Y4            // 2^n
	VMULPS Y4, Y3, Y3
	VCMPPS $1, Y11, Y0, Y5        // x-m < -87.33 (false for NaN)
	VANDNPS Y3, Y5, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP expl
expdone:
	VZEROUPPER
	RET

// Eight keys at a time: one 8-lane accumulator per key, so the eight dot
// products are independent chains (the one-key loops above end every key
// with a serial horizontal reduction), then one transposing reduction turns
// the eight accumulators into the eight scores. Keys are rows of hd
// elements at k; q is read in 8-element chunks. n must be a positive
// multiple of 8.

// KEYS8(load, stride) accumulates chunk (R9 = q chunk, R10 = key chunk) of
// the eight keys at row stride R11 into Y0..Y7; load converts a key chunk.
#define KEYS8(load) \
	VMOVUPS (R9), Y8; \
	MOVQ R10, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y0; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y1; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y2; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y3; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y4; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y5; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y6; ADDQ R11, R12; \
	load(R12, Y9); VFMADD231PS Y9, Y8, Y7

#define LOADF16(r, y) VCVTPH2PS (r), y
#define LOADF32(r, y) VMOVUPS (r), y

// REDUCE8 leaves in Y0 the eight horizontal sums of Y0..Y7, in key order,
// times the scale in Y15.
#define REDUCE8 \
	VHADDPS Y1, Y0, Y0; \
	VHADDPS Y3, Y2, Y2; \
	VHADDPS Y5, Y4, Y4; \
	VHADDPS Y7, Y6, Y6; \
	VHADDPS Y2, Y0, Y0; \
	VHADDPS Y6, Y4, Y4; \
	VPERM2F128 $0x20, Y4, Y0, Y1; \
	VPERM2F128 $0x31, Y4, Y0, Y2; \
	VADDPS Y2, Y1, Y0; \
	VMULPS Y15, Y0, Y0


#define ZERO8 \
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7; \
	MOVQ SI, R9; \
	MOVQ DI, R10; \
	MOVQ DX, BX

// STORE8 writes the eight scores and moves to the next eight keys.
#define STORE8 \
	REDUCE8; \
	VMOVUPS Y0, (R8); \
	ADDQ $32, R8; \
	LEAQ (DI)(R11*8), DI; \
	SUBQ $8, CX

// func scoresF16x8(q *float32, k *uint16, n, hd int, scale float32, out *float32)
TEXT ·scoresF16x8(SB), NOSPLIT, $0-48
	SCORES8SETUP(2)
f16x8keys:
	ZERO8
f16x8chunk:
	KEYS8(LOADF16)
	ADDQ $32, R9
	ADDQ $16, R10
	SUBQ $8, BX
	JNZ f16x8chunk
	STORE8
	JNZ f16x8keys
	VZEROUPPER
	RET

// func scoresF32x8(q, k *float32, n, hd int, scale float32, out *float32)
TEXT ·scoresF32x8(SB), NOSPLIT, $0-48
	SCORES8SETUP(4)
f32x8keys:
	ZERO8
f32x8chunk:
	KEYS8(LOADF32)
	ADDQ $32, R9
	ADDQ $32, R10
	SUBQ $8, BX
	JNZ f32x8chunk
	STORE8
	JNZ f32x8keys
	VZEROUPPER
	RET
