// Package eval measures the quality cost of KV-cache compression against full
// attention in the same run (docs/evaluation.md, quality protocols): several
// sequences — one full-cache reference and one per (policy, budget) — run side
// by side in a single batched forward pass per step, so each weight is read
// once per step however many policies are compared.
package eval
