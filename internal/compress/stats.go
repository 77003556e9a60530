package compress

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/safetensors"
)

// TriAttention statistics file, format "kvpack-triattention-stats" version 1.
//
// A safetensors file: 8-byte little-endian header length N, N bytes of JSON
// header (padded with spaces to a multiple of 8), then raw little-endian data.
// Tensors, all F32 of shape [layers, heads, bands] (bands = rope_dim/2, band f
// pairs dims as the model's RoPE does: (2f, 2f+1) interleaved, (f, f+rope_dim/2)
// neox), computed over every calibration token τ of the pre-RoPE query q(τ)
// of each (layer, query head), q_f = q[a_f] + i·q[b_f]:
//
//	q_mean_real[l,h,f] = Re mean_τ q_f(τ)
//	q_mean_imag[l,h,f] = Im mean_τ q_f(τ)
//	q_abs_mean[l,h,f]  = mean_τ |q_f(τ)|
//
// "__metadata__" (all values strings, as safetensors requires): format,
// version, model (name), source (path), architecture, layers, heads,
// kv_heads, head_dim, rope_dim, rope_style ("interleaved"|"neox"),
// rope_theta, bands, calibration_tokens, text (the calibration text source).
const (
	StatsFormat  = "kvpack-triattention-stats"
	StatsVersion = 1
)

// Tensor names in a statistics file.
const (
	tensorQMeanRe = "q_mean_real"
	tensorQMeanIm = "q_mean_imag"
	tensorQAbs    = "q_abs_mean"
)

// StatsMeta describes the model and calibration behind a statistics file.
type StatsMeta struct {
	Model, Source, Arch             string
	Layers, Heads, KVHeads, HeadDim int
	RopeDim, Bands                  int
	Rope                            string // model.RopeStyle.String(): "interleaved" or "neox"
	RopeTheta                       float32
	Tokens                          int    // calibration tokens
	Text                            string // calibration text source
}

// Stats are TriAttention's per-(layer, query head) pre-RoPE query statistics.
// Each slice is [Layers][Heads][Bands], row-major.
type Stats struct {
	Meta                       StatsMeta
	QMeanRe, QMeanIm, QAbsMean []float32
}

// MetaFor fills the model fields of StatsMeta from a model config.
func MetaFor(mc *model.Config) StatsMeta {
	return StatsMeta{
		Arch: mc.Arch, Layers: mc.Layers, Heads: mc.Heads, KVHeads: mc.KVHeads, HeadDim: mc.HeadDim,
		RopeDim: mc.RopeDim, Bands: mc.RopeDim / 2, Rope: mc.Rope.String(), RopeTheta: mc.RopeTheta,
	}
}

// NewStats allocates zeroed statistics for meta.
func NewStats(meta StatsMeta) *Stats {
	n := meta.Layers * meta.Heads * meta.Bands
	return &Stats{Meta: meta, QMeanRe: make([]float32, n), QMeanIm: make([]float32, n), QAbsMean: make([]float32, n)}
}

// Head returns the band slices of (layer, head): real and imaginary mean and mean magnitude.
func (s *Stats) Head(layer, head int) (re, im, abs []float32) {
	F := s.Meta.Bands
	o := (layer*s.Meta.Heads + head) * F
	return s.QMeanRe[o : o+F], s.QMeanIm[o : o+F], s.QAbsMean[o : o+F]
}

// Check reports whether the statistics fit a model; the error names every mismatch.
func (s *Stats) Check(mc *model.Config) error {
	want := MetaFor(mc)
	m := s.Meta
	var errs []error
	diff := func(what string, got, model any) {
		if got != model {
			errs = append(errs, fmt.Errorf("%s: stats %v, model %v", what, got, model))
		}
	}
	diff("architecture", m.Arch, want.Arch)
	diff("layers", m.Layers, want.Layers)
	diff("heads", m.Heads, want.Heads)
	diff("kv heads", m.KVHeads, want.KVHeads)
	diff("head_dim", m.HeadDim, want.HeadDim)
	diff("rope_dim", m.RopeDim, want.RopeDim)
	diff("rope style", m.Rope, want.Rope)
	diff("rope theta", m.RopeTheta, want.RopeTheta)
	if len(errs) > 0 {
		return fmt.Errorf("compress: triattention stats %q (model %q) do not match the loaded model: %w",
			m.Source, m.Model, errors.Join(errs...))
	}
	return nil
}

// validate checks sizes and values.
func (s *Stats) validate() error {
	m := s.Meta
	if m.Layers <= 0 || m.Heads <= 0 || m.Bands <= 0 || m.KVHeads <= 0 || m.HeadDim <= 0 || m.RopeDim != 2*m.Bands {
		return fmt.Errorf("bad geometry: %d layers, %d heads, %d kv heads, head_dim %d, rope_dim %d, %d bands",
			m.Layers, m.Heads, m.KVHeads, m.HeadDim, m.RopeDim, m.Bands)
	}
	n := m.Layers * m.Heads * m.Bands
	for name, x := range map[string][]float32{tensorQMeanRe: s.QMeanRe, tensorQMeanIm: s.QMeanIm, tensorQAbs: s.QAbsMean} {
		if len(x) != n {
			return fmt.Errorf("%s has %d values, want %d", name, len(x), n)
		}
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s[%d] is %v", name, i, v)
			}
		}
	}
	return nil
}

func (m StatsMeta) strings() map[string]string {
	itoa := strconv.Itoa
	return map[string]string{
		"format": StatsFormat, "version": itoa(StatsVersion),
		"model": m.Model, "source": m.Source, "architecture": m.Arch,
		"layers": itoa(m.Layers), "heads": itoa(m.Heads), "kv_heads": itoa(m.KVHeads),
		"head_dim": itoa(m.HeadDim), "rope_dim": itoa(m.RopeDim), "bands": itoa(m.Bands),
		"rope_style": m.Rope, "rope_theta": strconv.FormatFloat(float64(m.RopeTheta), 'g', -1, 32),
		"calibration_tokens": itoa(m.Tokens), "text": m.Text,
	}
}

// parseMeta reads StatsMeta from a file's metadata, checking format and version.
func parseMeta(md map[string]string) (StatsMeta, error) {
	if md["format"] != StatsFormat {
		return StatsMeta{}, fmt.Errorf("metadata format %q, want %q", md["format"], StatsFormat)
	}
	if md["version"] != strconv.Itoa(StatsVersion) {
		return StatsMeta{}, fmt.Errorf("format version %q, this build reads %d", md["version"], StatsVersion)
	}
	m := StatsMeta{Model: md["model"], Source: md["source"], Arch: md["architecture"], Rope: md["rope_style"], Text: md["text"]}
	var err error
	num := func(key string, dst *int) {
		v, e := strconv.Atoi(md[key])
		if e != nil && err == nil {
			err = fmt.Errorf("metadata %s=%q: %w", key, md[key], e)
		}
		*dst = v
	}
	num("layers", &m.Layers)
	num("heads", &m.Heads)
	num("kv_heads", &m.KVHeads)
	num("head_dim", &m.HeadDim)
	num("rope_dim", &m.RopeDim)
	num("bands", &m.Bands)
	num("calibration_tokens", &m.Tokens)
	theta, e := strconv.ParseFloat(md["rope_theta"], 32)
	if e != nil && err == nil {
		err = fmt.Errorf("metadata rope_theta=%q: %w", md["rope_theta"], e)
	}
	m.RopeTheta = float32(theta)
	return m, err
}

// Write stores the statistics at path (atomically: a temporary file renamed).
func (s *Stats) Write(path string) error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("compress: write stats: %w", err)
	}
	m := s.Meta
	shape := []int{m.Layers, m.Heads, m.Bands}
	size := uint64(len(s.QMeanRe) * 4)
	header := map[string]any{"__metadata__": m.strings()}
	var data bytes.Buffer
	for i, t := range []struct {
		name string
		x    []float32
	}{{tensorQMeanRe, s.QMeanRe}, {tensorQMeanIm, s.QMeanIm}, {tensorQAbs, s.QAbsMean}} {
		header[t.name] = map[string]any{"dtype": "F32", "shape": shape, "data_offsets": []uint64{uint64(i) * size, uint64(i+1) * size}}
		_ = binary.Write(&data, binary.LittleEndian, t.x) // bytes.Buffer writes cannot fail
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("compress: write stats: %w", err)
	}
	hj = append(hj, bytes.Repeat([]byte(" "), (8-len(hj)%8)%8)...)
	var out bytes.Buffer
	_ = binary.Write(&out, binary.LittleEndian, uint64(len(hj)))
	out.Write(hj)
	out.Write(data.Bytes())
	return writeFileAtomic(path, out.Bytes())
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("compress: write stats: %w", err)
	}
	_, werr := tmp.Write(b)
	merr := tmp.Chmod(0o644)
	cerr := tmp.Close()
	if err := errors.Join(werr, merr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("compress: write stats %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("compress: write stats: %w", err)
	}
	return nil
}

// LoadStats reads a statistics file and validates its contents.
func LoadStats(path string) (*Stats, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("compress: load stats: %w", err)
	}
	defer f.Close()
	fail := func(err error) (*Stats, error) { return nil, fmt.Errorf("compress: load stats %s: %w", path, err) }
	meta, err := parseMeta(f.Metadata())
	if err != nil {
		return fail(err)
	}
	s := &Stats{Meta: meta}
	for _, t := range []struct {
		name string
		dst  *[]float32
	}{{tensorQMeanRe, &s.QMeanRe}, {tensorQMeanIm, &s.QMeanIm}, {tensorQAbs, &s.QAbsMean}} {
		ten, ok := f.Tensor(t.name)
		if !ok {
			return fail(fmt.Errorf("tensor %s is missing", t.name))
		}
		if ten.DType != "F32" || len(ten.Shape) != 3 || ten.Shape[0] != meta.Layers || ten.Shape[1] != meta.Heads || ten.Shape[2] != meta.Bands {
			return fail(fmt.Errorf("tensor %s is %s %v, want F32 [%d %d %d]", t.name, ten.DType, ten.Shape, meta.Layers, meta.Heads, meta.Bands))
		}
		if *t.dst, err = ten.Float32s(); err != nil {
			return fail(err)
		}
	}
	if err := s.validate(); err != nil {
		return fail(err)
	}
	return s, nil
}
