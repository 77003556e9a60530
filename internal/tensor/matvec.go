package tensor

import "fmt"

// MatVec computes out[r] = dot(row r of w, x) for r < rows. w holds rows rows
// of cols elements of type t, row-major, each t.RowBytes(cols) bytes; x holds
// cols activations already quantized to VecDotType(t) (see
// QuantizeActivations). It runs on the calling goroutine; callers split rows
// across workers.
//
// Preconditions (programming errors, they panic): HasVecDot(t), cols a
// multiple of t's block size, len(w) >= rows*t.RowBytes(cols),
// len(x) >= VecDotType(t).RowBytes(cols), len(out) >= rows.
func MatVec(t DType, w []byte, rows, cols int, x []byte, out []float32) {
	MatMul(t, w, rows, cols, x, 1, out, rows)
}

// MatMul is MatVec for nx activation rows at once (prefill): x holds nx rows
// back to back, each VecDotType(t).RowBytes(cols) bytes, and
// out[j*ldOut+r] = dot(row r of w, activation row j). Each activation row is
// prepared once per call and each weight row is read once for all nx of
// them, so prefer it (and MatVec) to VecDot in loops.
//
// Preconditions as MatVec, plus nx >= 1, ldOut >= rows when nx > 1, and
// len(x) >= nx*VecDotType(t).RowBytes(cols), len(out) >= (nx-1)*ldOut+rows.
func MatMul(t DType, w []byte, rows, cols int, x []byte, nx int, out []float32, ldOut int) {
	s := checkMatMul(t, w, rows, cols, x, nx, out, ldOut)
	a := getPacked()
	defer putPacked(a)
	switch t {
	case F32, F16, BF16:
		matMulFloat(s, w, x, a, out)
	case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0:
		matMulLegacy(s, w, x, a, out)
	case Q4_K, Q5_K, Q6_K:
		matMulK(s, w, x, a, out)
	}
}

// mmShape is a validated MatMul call.
type mmShape struct {
	t                     DType
	rows, cols, nx, ldOut int
	rb, xb                int // bytes of one weight row, one activation row
}

// fastInfo mirrors typeInfos in an array: MatMul runs many times per token
// and should not pay for map lookups.
var fastInfo = func() (tab [64]typeInfo) {
	for t, ti := range typeInfos {
		if int(t) < len(tab) {
			tab[t] = ti
		}
	}
	return tab
}()

func info(t DType) typeInfo {
	if int(t) < len(fastInfo) {
		return fastInfo[t]
	}
	return typeInfo{}
}

// checkMatMul panics on a violated precondition.
func checkMatMul(t DType, w []byte, rows, cols int, x []byte, nx int, out []float32, ldOut int) mmShape {
	if !HasVecDot(t) {
		panic(fmt.Sprintf("tensor: MatVec: no dot product for %v", t))
	}
	ti, vi := info(t), info(VecDotType(t))
	if rows < 0 || cols < 0 || cols%ti.blockSize != 0 || cols%vi.blockSize != 0 || nx < 1 || (nx > 1 && ldOut < rows) {
		panic(fmt.Sprintf("tensor: MatVec: bad shape %dx%d (nx %d, ldOut %d) for %v", rows, cols, nx, ldOut, t))
	}
	s := mmShape{t, rows, cols, nx, ldOut, cols / ti.blockSize * ti.blockBytes, cols / vi.blockSize * vi.blockBytes}
	switch {
	case len(w) < rows*s.rb:
		panic(fmt.Sprintf("tensor: MatVec: %v weights %dx%d need %d bytes, have %d", t, rows, cols, rows*s.rb, len(w)))
	case len(x) < nx*s.xb:
		panic(fmt.Sprintf("tensor: MatVec: activations: %d %v rows of %d need %d bytes, have %d", nx, VecDotType(t), cols, nx*s.xb, len(x)))
	case len(out) < (nx-1)*ldOut+rows:
		panic(fmt.Sprintf("tensor: MatVec: out has %d entries for %d rows", len(out), (nx-1)*ldOut+rows))
	}
	return s
}

func matMulFloat(s mmShape, w, x []byte, a *packed, out []float32) {
	a.f = grow(a.f, s.nx*s.cols)
	for j := 0; j < s.nx; j++ {
		_ = DequantizeRow(s.t, x[j*s.xb:(j+1)*s.xb], a.f[j*s.cols:(j+1)*s.cols]) // sizes checked
	}
	dot := dotF32
	if s.t == F16 {
		dot = dotF16
	} else if s.t == BF16 {
		dot = dotBF16
	}
	for r := 0; r < s.rows; r++ {
		wr := w[r*s.rb : (r+1)*s.rb]
		for j := 0; j < s.nx; j++ {
			out[j*s.ldOut+r] = dot(wr, a.f[j*s.cols:(j+1)*s.cols])
		}
	}
}

func matMulLegacy(s mmShape, w, x []byte, a *packed, out []float32) {
	if matMulLegacyAsm(s, w, x, out) {
		return
	}
	nb := s.cols / 32
	ps := nb * legacyStride
	a.p = grow(a.p, s.nx*ps)
	for j := 0; j < s.nx; j++ {
		packQ8(x[j*s.xb:(j+1)*s.xb], nb, VecDotType(s.t) == Q8_1, a.p[j*ps:(j+1)*ps])
	}
	dot := dotQ8_0
	switch s.t {
	case Q4_0:
		dot = dotQ4_0
	case Q4_1:
		dot = dotQ4_1
	case Q5_0:
		dot = dotQ5_0
	case Q5_1:
		dot = dotQ5_1
	}
	for r := 0; r < s.rows; r++ {
		wr := w[r*s.rb : (r+1)*s.rb]
		for j := 0; j < s.nx; j++ {
			out[j*s.ldOut+r] = dot(wr, a.p[j*ps:(j+1)*ps])
		}
	}
}

func matMulK(s mmShape, w, x []byte, a *packed, out []float32) {
	if matMulKAsm(s, w, x, out) {
		return
	}
	nb := s.cols / qkK
	ps := nb * 64
	a.p = grow(a.p, s.nx*ps)
	for j := 0; j < s.nx; j++ {
		packQ8K(x[j*s.xb:(j+1)*s.xb], nb, a.p[j*ps:(j+1)*ps])
	}
	dot := dotQ6K
	switch s.t {
	case Q4_K:
		dot = dotQ4K
	case Q5_K:
		dot = dotQ5K
	}
	for r := 0; r < s.rows; r++ {
		wr := w[r*s.rb : (r+1)*s.rb]
		for j := 0; j < s.nx; j++ {
			out[j*s.ldOut+r] = dot(wr, x[j*s.xb:(j+1)*s.xb], a.p[j*ps:(j+1)*ps])
		}
	}
}
