package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
)

// kvFlags configure the paged KV cache.
type kvFlags struct {
	size      string
	blocks    int
	blockSize int
	dtype     string
}

func (k *kvFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.size, "kv-cache-size", "", "KV pool size in bytes (e.g. 256MiB, 1GiB); default: what the request needs")
	fs.IntVar(&k.blocks, "kv-blocks", 0, "KV pool size in blocks (overrides --kv-cache-size)")
	fs.IntVar(&k.blockSize, "block-size", kvcache.DefaultBlockSize, "token slots per KV block (8..128)")
	fs.StringVar(&k.dtype, "kv-dtype", "f16", "KV element type: f16 or f32")
}

// pool builds the KV pool; tokens is the fallback capacity per sequence when no
// size was given.
func (k *kvFlags) pool(c *model.Config, tokens int) (*kvcache.Pool, error) {
	dt, err := kvcache.ParseDType(k.dtype)
	if err != nil {
		return nil, err
	}
	shape := kvShape(c)
	opt := kvcache.Options{BlockSize: k.blockSize, DType: dt, Blocks: k.blocks}
	switch {
	case k.blocks > 0:
	case k.size != "":
		if opt.Bytes, err = parseBytes(k.size); err != nil {
			return nil, fmt.Errorf("--kv-cache-size: %w", err)
		}
	default:
		if k.blockSize < 1 {
			return nil, fmt.Errorf("--block-size must be positive")
		}
		opt.Blocks = c.Layers * c.KVHeads * ((tokens + k.blockSize - 1) / k.blockSize)
	}
	return kvcache.NewPool(shape, opt)
}

func kvShape(c *model.Config) kvcache.Shape {
	return kvcache.Shape{Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Scale: c.AttnScale}
}

// parseBytes reads sizes like 1GiB, 512MiB, 64KB, 1e9.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1<<50 {
		return 0, fmt.Errorf("bad size %q (want e.g. 512MiB or 1GiB)", s)
	}
	return int64(v * mult), nil
}

// compressFlags choose a KV compression policy and its budget.
type compressFlags struct{ cfg compress.Config }

func (f *compressFlags) register(fs *flag.FlagSet) {
	c := &f.cfg
	fs.StringVar(&c.Policy, "policy", "none", "KV compression policy: "+strings.Join(compress.Names(), ", "))
	fs.IntVar(&c.Budget, "kv-budget", compress.DefaultBudget, "tokens kept per (layer, kv-head) table after a compression round")
	fs.IntVar(&c.CompressEvery, "compress-every", compress.DefaultCompressEvery, "a round fires when a table reaches budget + this many tokens")
	fs.IntVar(&c.ProtectWindow, "protect-window", 0, "recent tokens always kept (0 = policy default: 128 triattention, 8 snapkv/rkv)")
	fs.BoolVar(&c.ProtectPrompt, "protect-prompt", false, "keep the prompt when it fits the budget")
	fs.IntVar(&c.Sinks, "sinks", 0, "lowest positions always kept (0 = policy default: 4 for streaming; -1 = none)")
	fs.StringVar(&c.Compaction, "compaction", compress.CompactRepack, "how survivors are packed: repack (order-preserving) or holefill")
	fs.StringVar(&c.Mode, "triattention-mode", compress.ModePerHead, "TriAttention plan: per_head or per_layer_per_head")
	fs.StringVar(&c.Stats, "triattention-stats", defaultStats, "TriAttention statistics file (kvpack calibrate)")
}

const defaultStats = "stats/smollm2-135m-instruct.triattention.safetensors"

// compressor builds the per-request compressor; it must exist before prefill
// because some policies switch on kernel taps.
func (f *compressFlags) compressor(m *model.Model, seq *kvcache.Sequence, r *model.Runner, pool *parallel.Pool, promptLen int) (*compress.Compressor, error) {
	cfg := f.cfg
	if cfg.Policy != "triattention" {
		cfg.Stats = ""
	}
	pol, err := compress.NewPolicy(cfg, &m.Config)
	if err != nil {
		return nil, err
	}
	c, err := compress.NewCompressor(seq, &m.Config, pol, cfg, promptLen)
	if err != nil {
		return nil, err
	}
	c.SetPool(pool)
	if qw := c.Queries(); qw != nil {
		r.Tap = qw.Tap
	}
	return c, nil
}
