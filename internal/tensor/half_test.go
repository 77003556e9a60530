package tensor

import (
	"math"
	"testing"
)

func isNaN32(f float32) bool { return f != f }

func TestF16RoundTripExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f16ToF32Slow(uint16(h)) != f && !isNaN32(f) {
			t.Fatalf("table mismatch at %#04x", h)
		}
		exp, mant := h>>10&0x1f, h&0x3ff
		if exp == 0x1f && mant != 0 {
			if !isNaN32(f) {
				t.Fatalf("%#04x: want NaN, got %v", h, f)
			}
			// vcvtps2ph keeps the payload and sets the quiet bit.
			if got, want := F32ToF16(f), uint16(h)|0x200; got != want {
				t.Fatalf("NaN %#04x -> %#04x, want %#04x", h, got, want)
			}
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
}

func TestF16Values(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125},
		{0x7bff, 65504}, {0x0400, 1.0 / (1 << 14)}, {0x0001, 1.0 / (1 << 24)},
		{0x03ff, 1023.0 / (1 << 24)}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		if got := F16ToF32(tc.h); got != tc.want {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if got := F16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("F16ToF32(0x8000) = %v, want -0", got)
	}
}

func TestF32ToF16Rounding(t *testing.T) {
	bits := math.Float32frombits
	tests := []struct {
		name string
		f    float32
		want uint16
	}{
		{"max", 65504, 0x7bff},
		{"below max tie", 65519.99, 0x7bff},
		{"max tie rounds to inf", 65520, 0x7c00},
		{"overflow", 1e6, 0x7c00},
		{"neg overflow", -1e6, 0xfc00},
		{"tie to even down", 1 + 1.0/2048, 0x3c00},
		{"tie to even up", 1 + 3.0/2048, 0x3c02},
		{"above tie", bits(math.Float32bits(1+1.0/2048) + 1), 0x3c01},
		{"min subnormal", 1.0 / (1 << 24), 0x0001},
		{"half min subnormal ties to zero", 1.0 / (1 << 25), 0x0000},
		{"above half min subnormal", bits(math.Float32bits(1.0/(1<<25)) + 1), 0x0001},
		{"subnormal tie to even", 3.0 / (1 << 25), 0x0002},
		{"subnormal rounds to normal", 2047.0 / (1 << 25), 0x0400},
		{"tiny", 1e-30, 0x0000},
		{"neg tiny", -1e-30, 0x8000},
		{"f32 subnormal", bits(1), 0x0000},
		{"inf", float32(math.Inf(1)), 0x7c00},
		{"qnan", bits(0x7fc00000), 0x7e00},
		{"snan", bits(0x7f800001), 0x7e00},
		{"nan payload", bits(0xffc02000), 0xfe01},
	}
	for _, tc := range tests {
		if got := F32ToF16(tc.f); got != tc.want {
			t.Errorf("%s: F32ToF16(%g) = %#04x, want %#04x", tc.name, tc.f, got, tc.want)
		}
	}
}

// TestF32ToF16Midpoints checks every midpoint between adjacent finite halves
// (exact in float32) rounds to the even neighbour, and one float32 ulp either
// side rounds to the nearer one.
func TestF32ToF16Midpoints(t *testing.T) {
	for h := uint16(0); h < 0x7bff; h++ {
		lo, hi := F16ToF32(h), F16ToF32(h+1)
		mid := (lo + hi) / 2
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		for _, sign := range []uint16{0, 0x8000} {
			m := mid
			if sign != 0 {
				m = -mid
			}
			if got := F32ToF16(m); got != even|sign {
				t.Fatalf("midpoint %g of %#04x/%#04x -> %#04x", m, h|sign, (h+1)|sign, got)
			}
		}
		below := math.Float32frombits(math.Float32bits(mid) - 1)
		above := math.Float32frombits(math.Float32bits(mid) + 1)
		if F32ToF16(below) != h || F32ToF16(above) != h+1 {
			t.Fatalf("near midpoint of %#04x: %#04x %#04x", h, F32ToF16(below), F32ToF16(above))
		}
	}
}

func TestBF16RoundTripExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := BF16ToF32(uint16(h))
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) bits %#08x", h, math.Float32bits(f))
		}
		want := uint16(h)
		if isNaN32(f) {
			want |= 64
		}
		if got := F32ToBF16(f); got != want {
			t.Fatalf("%#04x -> %#04x, want %#04x", h, got, want)
		}
	}
}

func TestF32ToBF16Rounding(t *testing.T) {
	bits := math.Float32frombits
	tests := []struct {
		name string
		u    uint32
		want uint16
	}{
		{"tie to even down", 0x3f808000, 0x3f80},
		{"tie to even up", 0x3f818000, 0x3f82},
		{"below tie", 0x3f807fff, 0x3f80},
		{"above tie", 0x3f808001, 0x3f81},
		{"max rounds to inf", 0x7f7fffff, 0x7f80},
		{"subnormal kept", 0x00018000, 0x0002},
		{"snan quieted", 0x7f800001, 0x7fc0},
		{"neg nan", 0xff812345, 0xffc1},
		{"neg inf", 0xff800000, 0xff80},
	}
	for _, tc := range tests {
		if got := F32ToBF16(bits(tc.u)); got != tc.want {
			t.Errorf("%s: F32ToBF16(%#08x) = %#04x, want %#04x", tc.name, tc.u, got, tc.want)
		}
	}
}
