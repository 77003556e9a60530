package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kvpack/kvpack/internal/scheduler"
)

// metrics is one server's Prometheus registry. Gauges and counters read the
// engine's Stats on scrape; the latency histograms are fed by the engine's
// hooks. vLLM's names (with a model_name label) let Kubernetes inference
// gateways route across kvpack replicas; kvpack_* are kvpack's own.
type metrics struct {
	reg       *prometheus.Registry
	model     string
	ttft, itl prometheus.Histogram
}

// Latency buckets, vLLM's.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
)

func newMetrics(model string) *metrics {
	labels := prometheus.Labels{"model_name": model}
	return &metrics{
		reg: prometheus.NewRegistry(), model: model,
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vllm:time_to_first_token_seconds",
			Help: "Time from request arrival to its first generated token.", Buckets: ttftBuckets, ConstLabels: labels}),
		itl: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vllm:inter_token_latency_seconds",
			Help: "Time between consecutive generated tokens of a request.", Buckets: itlBuckets, ConstLabels: labels}),
	}
}

func (m *metrics) observeTTFT(d time.Duration) { m.ttft.Observe(d.Seconds()) }
func (m *metrics) observeITL(d time.Duration)  { m.itl.Observe(d.Seconds()) }

// register adds every collector reading e.
func (m *metrics) register(e *scheduler.Engine) {
	vl := prometheus.Labels{"model_name": m.model}
	st := func(f func(scheduler.Stats) float64) func() float64 { return func() float64 { return f(e.Stats()) } }
	gauge := func(name, help string, labels prometheus.Labels, f func(scheduler.Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, st(f)))
	}
	counter := func(name, help string, labels prometheus.Labels, f func(scheduler.Stats) float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, st(f)))
	}
	gauge("vllm:num_requests_waiting", "Requests waiting to be scheduled.", vl, func(s scheduler.Stats) float64 { return float64(s.Waiting) })
	gauge("vllm:num_requests_running", "Requests in the running batch.", vl, func(s scheduler.Stats) float64 { return float64(s.Running) })
	gauge("vllm:kv_cache_usage_perc", "KV-cache usage: used blocks / total blocks, 0..1.", vl, func(s scheduler.Stats) float64 { return s.KVUsage })
	gauge("vllm:gpu_cache_usage_perc", "Same as vllm:kv_cache_usage_perc (the older vLLM name; kvpack's cache lives in CPU memory).", vl,
		func(s scheduler.Stats) float64 { return s.KVUsage })
	pool := e.Pool()
	info := prometheus.Labels{"model_name": m.model, "block_size": strconv.Itoa(pool.BlockSize()),
		"num_gpu_blocks": strconv.Itoa(pool.Total()), "cache_dtype": pool.DType().String()}
	gauge("vllm:cache_config_info", "KV cache configuration (labels); kvpack blocks hold one (layer, kv-head) each.", info,
		func(scheduler.Stats) float64 { return 1 })
	gauge("kvpack_kv_cache_used_bytes", "Bytes of KV blocks in use.", nil, func(s scheduler.Stats) float64 {
		return s.KVUsage * float64(int64(s.KVBlocks)*pool.BlockBytes())
	})
	counter("vllm:num_preemptions_total", "Preemptions (recompute) when KV blocks ran out.", vl, func(s scheduler.Stats) float64 { return float64(s.Preemptions) })
	counter("kvpack_preemptions_total", "Preemptions (recompute) when KV blocks ran out.", nil, func(s scheduler.Stats) float64 { return float64(s.Preemptions) })
	counter("vllm:prompt_tokens_total", "Prompt tokens prefilled (recomputation not counted).", vl, func(s scheduler.Stats) float64 { return float64(s.PromptTokens) })
	counter("vllm:generation_tokens_total", "Generated tokens.", vl, func(s scheduler.Stats) float64 { return float64(s.GenTokens) })
	counter("kvpack_kv_tokens_evicted_total", "Tokens evicted by KV compression (slots / tables).", nil, func(s scheduler.Stats) float64 { return float64(s.KVTokensEvicted) })
	counter("kvpack_kv_blocks_reclaimed_total", "KV blocks returned to the pool by compaction.", nil, func(s scheduler.Stats) float64 { return float64(s.KVBlocksReclaimed) })
	counter("kvpack_compaction_seconds_total", "Time spent compacting KV tables.", nil, func(s scheduler.Stats) float64 { return s.CompactionSeconds })
	counter("kvpack_compression_rounds_total", "KV compression rounds that evicted tokens.", nil, func(s scheduler.Stats) float64 { return float64(s.CompressionRounds) })
	m.reg.MustRegister(m.ttft, m.itl)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
