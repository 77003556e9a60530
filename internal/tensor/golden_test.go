package tensor

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"strings"
	"testing"
)

// testdata/ggml_golden.txt holds outputs of ggml itself (see its header) on
// two fixed 1024-element inputs: quantized bytes, dequantized values, generic
// vec_dot results and f16/bf16 conversions.

type golden struct {
	in0, in1 []float32
	quant    map[DType][]byte
	dequant  map[DType][]float32
	dot      map[DType][]float32 // per 256-element chunk, then the whole row
	f16in    []float32
	f16, bf  []uint16
}

func hexFloats(b []byte) []float32 {
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = f32le(b[4*i:])
	}
	return f
}

func hexHalves(b []byte) []uint16 {
	h := make([]uint16, len(b)/2)
	for i := range h {
		h[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return h
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	f, err := os.Open("testdata/ggml_golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := &golden{quant: map[DType][]byte{}, dequant: map[DType][]float32{}, dot: map[DType][]float32{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		data, err := hex.DecodeString(fields[len(fields)-1])
		if err != nil {
			t.Fatalf("%s: %v", fields[0], err)
		}
		var typ DType
		if len(fields) == 3 {
			if typ, err = ParseDType(fields[1]); err != nil {
				t.Fatal(err)
			}
		}
		g.add(fields[0], typ, data)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *golden) add(kind string, typ DType, data []byte) {
	switch kind {
	case "in0":
		g.in0 = hexFloats(data)
	case "in1":
		g.in1 = hexFloats(data)
	case "quant":
		g.quant[typ] = data
	case "dequant":
		g.dequant[typ] = hexFloats(data)
	case "dot":
		g.dot[typ] = hexFloats(data)
	case "f16in":
		g.f16in = hexFloats(data)
	case "f16":
		g.f16 = hexHalves(data)
	case "bf16":
		g.bf = hexHalves(data)
	}
}

func TestGoldenQuantize(t *testing.T) {
	g := loadGolden(t)
	if len(g.quant) != 10 || len(g.dequant) != 9 {
		t.Fatalf("golden file has %d quant and %d dequant lines", len(g.quant), len(g.dequant))
	}
	for typ, want := range g.quant {
		if got := quantize(t, typ, g.in0); string(got) != string(want) {
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%v: quantized bytes differ from ggml first at byte %d (block %d)", typ, i, i/typ.BlockBytes())
					break
				}
			}
		}
	}
	for typ, want := range g.dequant {
		got := dequantize(t, typ, g.quant[typ], len(want))
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%v: dequantized element %d = %v, ggml %v", typ, i, got[i], want[i])
				break
			}
		}
	}
}

// TestGoldenVecDot: legacy types match ggml's generic vec_dot bit for bit;
// the K-quants sum each super-block's integers first (ggml's generic code
// keeps 8 float lanes), so they match to float rounding. Each 256-element
// chunk of the inputs has its own scale, so every chunk is checked alone.
func TestGoldenVecDot(t *testing.T) {
	g := loadGolden(t)
	if len(g.dot) != 8 {
		t.Fatalf("golden file has %d dot lines", len(g.dot))
	}
	for typ, want := range g.dot {
		x := QuantizeActivations(typ, g.in1, nil)
		w, vt := g.quant[typ], VecDotType(typ)
		for c, wantC := range want {
			n, off := 256, c*256
			if c == 4 {
				n, off = len(g.in0), 0
			}
			wc, xc := w[typ.RowBytes(off):], x[vt.RowBytes(off):]
			got := VecDot(typ, n, wc, xc)
			tol := 0.0
			if typ.BlockSize() == qkK {
				tol = 1e-6 * absDot(typ, n, wc, xc)
			}
			if math.Abs(float64(got)-float64(wantC)) > tol {
				t.Errorf("%v chunk %d: VecDot %v, ggml %v (exact %v)", typ, c, got, wantC, vecDotRef(typ, n, wc, xc))
			}
		}
	}
}

func TestGoldenHalfConversions(t *testing.T) {
	g := loadGolden(t)
	in := append(append([]float32{}, g.f16in...), make([]float32, len(g.in0))...)
	for i, v := range g.in0 {
		in[len(g.f16in)+i] = v * 100
	}
	if len(g.f16) != len(in) || len(g.bf) != len(in) {
		t.Fatalf("golden f16/bf16 lines have %d/%d values, want %d", len(g.f16), len(g.bf), len(in))
	}
	for i, v := range in {
		if got := F32ToF16(v); got != g.f16[i] {
			t.Errorf("F32ToF16(%g) = %#04x, ggml %#04x", v, got, g.f16[i])
		}
		if got := F32ToBF16(v); got != g.bf[i] {
			t.Errorf("F32ToBF16(%g) = %#04x, ggml %#04x", v, got, g.bf[i])
		}
	}
}
