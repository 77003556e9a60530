package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kvpack/kvpack/internal/compress"
	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/scheduler"
	"github.com/kvpack/kvpack/internal/server"
)

// serveFlags are the flags of `kvpack serve` beyond the model and KV ones.
type serveFlags struct {
	host, apiKey, name        string
	port                      int
	maxBatch, maxSeqs, maxQ   int
	policy, stats             string
	budget, every             int
	maxBody                   int64
	writeTimeout, readTimeout time.Duration
}

func (s *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.host, "host", "127.0.0.1", "address to listen on (0.0.0.0 exposes the server to the network)")
	fs.IntVar(&s.port, "port", 8000, "TCP port (0 picks a free one)")
	fs.StringVar(&s.apiKey, "api-key", "", "require \"Authorization: Bearer KEY\" on /v1/* (default: $KVPACK_API_KEY)")
	fs.StringVar(&s.name, "served-model-name", "", "model id in the API (default: the model file's base name)")
	fs.IntVar(&s.maxBatch, "max-batch-tokens", 512, "token budget of one engine step (prefill chunks + decode tokens)")
	fs.IntVar(&s.maxSeqs, "max-seqs", 16, "requests running at once")
	fs.IntVar(&s.maxQ, "max-queue", 64, "requests waiting at most; more are answered 429")
	fs.StringVar(&s.policy, "policy", "none", "default KV compression policy: "+strings.Join(compress.Names(), ", "))
	fs.IntVar(&s.budget, "kv-budget", 0, fmt.Sprintf("tokens kept per (layer, kv-head) table by compression (0 = %d)", compress.DefaultBudget))
	fs.IntVar(&s.every, "compress-every", 0, fmt.Sprintf("compress when a table holds budget+N tokens (0 = %d)", compress.DefaultCompressEvery))
	fs.StringVar(&s.stats, "triattention-stats", defaultStats, "TriAttention statistics file (made by kvpack calibrate); needed for triattention")
	fs.StringVar(&s.stats, "kv-stats", defaultStats, "alias of --triattention-stats")
	fs.Int64Var(&s.maxBody, "max-body-bytes", server.DefaultMaxBodyBytes, "request body limit (larger: 413)")
	fs.DurationVar(&s.writeTimeout, "write-timeout", server.DefaultWriteTimeout, "deadline of each response write (streams may run longer)")
	fs.DurationVar(&s.readTimeout, "read-timeout", server.DefaultReadTimeout, "deadline for reading a request")
}

// compressConfig is the default compression of every request.
func (s *serveFlags) compressConfig() compress.Config {
	return compress.Config{Policy: s.policy, Budget: s.budget, CompressEvery: s.every, Stats: s.stats}
}

func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var mf modelFlags
	mf.register(fs)
	var kf kvFlags
	kf.register(fs)
	var sf serveFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sf.apiKey == "" {
		sf.apiKey = os.Getenv("KVPACK_API_KEY")
	}
	m, workers, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	defer workers.Close()
	srv, kvp, err := newServer(m, workers, &kf, &sf)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(sf.host, strconv.Itoa(sf.port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ps := kvp.Stats()
	fmt.Fprintf(os.Stderr, "kvpack serve: %s as %q, %d threads | kv pool %d blocks x %d B = %.1f MiB (%v, block size %d) | policy %s\n",
		m.Source, srv.ModelName(), workers.Workers(), ps.Total, ps.BlockBytes, float64(ps.TotalBytes)/(1<<20), kvp.DType(), ps.BlockSize, sf.policy)
	fmt.Fprintf(os.Stderr, "kvpack serve: listening on http://%s (OpenAI API under /v1, /metrics, /health)\n", ln.Addr())
	return serveUntilSignal(srv, ln)
}

// newServer builds the KV pool and the server for the flags. Without a KV
// size the pool holds max-seqs sequences of min(context, 2048) tokens.
func newServer(m *model.Model, workers *parallel.Pool, kf *kvFlags, sf *serveFlags) (*server.Server, *kvcache.Pool, error) {
	if sf.maxSeqs < 1 || sf.maxBatch < 1 || sf.maxQ < 1 {
		return nil, nil, fmt.Errorf("--max-seqs, --max-batch-tokens and --max-queue must be >= 1")
	}
	kvp, err := kf.pool(&m.Config, sf.maxSeqs*min(m.Config.Context, 2048))
	if err != nil {
		return nil, nil, err
	}
	opt := scheduler.Options{MaxBatchTokens: sf.maxBatch, MaxSeqs: sf.maxSeqs, MaxQueue: sf.maxQ}
	if opt.Compressors, err = scheduler.NewPolicies(&m.Config, sf.compressConfig(), workers); err != nil {
		return nil, nil, err
	}
	srv, err := server.New(server.Config{
		Model: m, Workers: workers, KV: kvp, Scheduler: opt, ModelName: sf.name, APIKey: sf.apiKey,
		MaxBodyBytes: sf.maxBody, WriteTimeout: sf.writeTimeout, ReadTimeout: sf.readTimeout,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return nil, nil, err
	}
	return srv, kvp, nil
}

// serveUntilSignal serves until SIGINT/SIGTERM, then stops taking requests
// and gives running ones 10 seconds before they are cut.
func serveUntilSignal(srv *server.Server, ln net.Listener) error {
	hs := srv.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case err := <-errc:
		return err
	case s := <-sig:
		fmt.Fprintf(os.Stderr, "kvpack serve: %v: shutting down\n", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(ctx)
	srv.Close() // requests still running end with an error event
	hs.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
