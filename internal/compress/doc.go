// Package compress decides which cached tokens a sequence keeps and compacts
// its paged KV cache so evicted tokens free whole blocks.
//
// A round works on a kvcache.Sequence, whose tables (one per layer and
// kv-head) each have their own length and store post-RoPE keys with their
// absolute positions. Slot order is not token order after hole-filling
// compaction, so everything positional here reads Table.Positions.
//
// Pieces:
//   - Config (config.go): policy name, budget B, period N, guards, compaction.
//   - Policy (policy.go): a scorer with a registry by name; one file per
//     policy (none, streaming, h2o, tova, snapkv, rkv, triattention).
//   - Select (select.go): guards (sinks, recent window, prompt) plus top-k by
//     score with a deterministic tie-break, per table.
//   - Compressor (compressor.go): per-sequence driver; AfterStep fires a round
//     when a table holds B+N tokens and cuts every table back to B.
//   - QueryWindow (querywindow.go): recorder of recent pre-RoPE queries for
//     SnapKV and R-KV, rotated with the model's exact RoPE recipe (rope.go).
//   - Stats and Calibrate (stats.go, calibrate.go): TriAttention's per-head
//     query statistics, their file format and how to compute them.
//
// Typical use by an engine, once per model:
//
//	pol, err := compress.NewPolicy(cfg, &m.Config)       // loads TriAttention stats once
//
// and per request (sequence):
//
//	c, err := compress.NewCompressor(seq, &m.Config, pol, cfg, len(prompt)) // enables the taps pol needs
//	// in the runner's Tap, for this sequence's tokens: c.Queries().Record(layer, pos, q) when c.Queries() != nil
//	// after every forward step of the sequence:
//	round, err := c.AfterStep()
package compress
