package compress

import (
	"fmt"
	"slices"
	"strings"
)

// Defaults shared by every policy (TriAttention's paper settings, §1.8 of
// docs/triattention.md).
const (
	DefaultBudget        = 2048 // B: tokens kept per table after a round
	DefaultCompressEvery = 128  // N: a round fires when a table reaches B+N tokens
)

// Compaction modes (see kvcache.Table.CompactRepack and CompactHoleFill).
const (
	CompactRepack   = "repack"   // order-preserving slide; the default
	CompactHoleFill = "holefill" // only the newest round's survivors move
)

// TriAttention pruning modes (§1.7).
const (
	ModePerHead         = "per_head"           // one plan per kv-head shared by all layers (default)
	ModePerLayerPerHead = "per_layer_per_head" // one plan per (layer, kv-head)
)

// Config selects and parameterizes the compression of one request. The zero
// value of every field means "default"; Resolve fills them in.
//
// Budget rule. A round cuts every table holding more than Budget tokens back
// to exactly Budget tokens: the guarded tokens (Sinks lowest positions, the
// ProtectWindow newest positions, and the prompt when ProtectPrompt) plus the
// best-scored others. Sinks+ProtectWindow must not exceed Budget. When the
// protected prompt does not fit as well (prompt longer than Budget minus the
// sinks and window), prompt protection is dropped for that round and prompt
// tokens compete by score with generated ones: the sinks and the recent window
// stay, so a long prompt never evicts every generated token (the HF reference
// would keep only the prompt's first B tokens there).
type Config struct {
	Policy        string // registry name (Names()); "" means "none"
	Budget        int    // B, tokens per table after a round; 0 means DefaultBudget
	CompressEvery int    // N: a round fires when a table holds >= B+N tokens; 0 means DefaultCompressEvery
	// ProtectWindow is the number of newest tokens (by position) always kept:
	// 0 means the policy default (triattention 128, snapkv/rkv/h2o/tova/streaming 8),
	// negative means none. SnapKV and R-KV also use it as their query window.
	ProtectWindow int
	ProtectPrompt bool   // keep the prompt (positions < prompt length) when it fits; see the budget rule
	Sinks         int    // lowest positions always kept: 0 means the policy default (streaming 4, else none); negative means none
	Compaction    string // CompactRepack (default) or CompactHoleFill
	Mode          string // TriAttention: ModePerHead (default) or ModePerLayerPerHead
	Stats         string // TriAttention statistics file (made by `kvpack calibrate`)
}

// Resolve returns c with defaults filled in and checks it. In the result,
// ProtectWindow and Sinks are >= 0 (negative inputs become 0).
func (c Config) Resolve() (Config, error) {
	c.Policy = strings.ToLower(strings.TrimSpace(c.Policy))
	if c.Policy == "" {
		c.Policy = "none"
	}
	e, ok := registry[c.Policy]
	if !ok {
		return c, fmt.Errorf("compress: unknown policy %q (known: %s)", c.Policy, strings.Join(Names(), ", "))
	}
	c.Budget = orDefault(c.Budget, DefaultBudget)
	c.CompressEvery = orDefault(c.CompressEvery, DefaultCompressEvery)
	c.ProtectWindow = guardDefault(c.ProtectWindow, e.window)
	c.Sinks = guardDefault(c.Sinks, e.sinks)
	if c.Compaction == "" {
		c.Compaction = CompactRepack
	}
	if c.Mode == "" {
		c.Mode = ModePerHead
	}
	return c, c.check()
}

func (c *Config) check() error {
	switch {
	case c.Budget < 1:
		return fmt.Errorf("compress: budget %d: must be at least 1 token", c.Budget)
	case c.CompressEvery < 1:
		return fmt.Errorf("compress: compress-every %d: must be at least 1 token", c.CompressEvery)
	case c.Sinks+c.ProtectWindow > c.Budget:
		return fmt.Errorf("compress: %d sinks + %d protected recent tokens exceed the budget of %d",
			c.Sinks, c.ProtectWindow, c.Budget)
	case !slices.Contains([]string{CompactRepack, CompactHoleFill}, c.Compaction):
		return fmt.Errorf("compress: unknown compaction %q (want %s or %s)", c.Compaction, CompactRepack, CompactHoleFill)
	case !slices.Contains([]string{ModePerHead, ModePerLayerPerHead}, c.Mode):
		return fmt.Errorf("compress: unknown triattention mode %q (want %s or %s)", c.Mode, ModePerHead, ModePerLayerPerHead)
	case c.Policy == "triattention" && c.Stats == "":
		return fmt.Errorf("compress: policy triattention needs a statistics file (make one with `kvpack calibrate`)")
	}
	return nil
}

// orDefault maps 0 to def and keeps other values (negative ones are caught by check).
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// guardDefault maps 0 to def and negative values to 0 (none).
func guardDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
