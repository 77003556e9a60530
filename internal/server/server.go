// Package server is kvpack's OpenAI-compatible HTTP API over a
// scheduler.Engine (net/http only): /v1/completions and
// /v1/chat/completions (streaming as server-sent events and not),
// /v1/models, /health and /metrics (Prometheus, vLLM's metric names).
//
// Timeouts: the http.Server gets header, read and idle timeouts but no
// WriteTimeout, which would cut long generations and streams. Instead every
// write of a response (each SSE chunk, or the whole JSON body) gets its own
// deadline of Config.WriteTimeout, so a client that stops reading is dropped
// without limiting how long a generation may run. ReadTimeout bounds reading
// the request only: handlers clear the read deadline once the body is read
// (net/http does as well when it starts watching for the client closing the
// connection), so it never cancels a long generation; a test checks it.
package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/kvpack/kvpack/internal/kvcache"
	"github.com/kvpack/kvpack/internal/model"
	"github.com/kvpack/kvpack/internal/parallel"
	"github.com/kvpack/kvpack/internal/scheduler"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultWriteTimeout = 30 * time.Second
	DefaultReadTimeout  = 60 * time.Second
	DefaultIdleTimeout  = 120 * time.Second
	headerTimeout       = 10 * time.Second
)

// Config configures a Server. Model, Workers and KV are required.
type Config struct {
	Model     *model.Model
	Workers   *parallel.Pool
	KV        *kvcache.Pool
	Scheduler scheduler.Options // queue sizes, token budget, compression

	ModelName    string        // id served by /v1/models; default: the model file's base name
	APIKey       string        // when set, /v1/* needs "Authorization: Bearer <APIKey>"
	MaxBodyBytes int64         // request body limit (default 1 MiB); larger bodies get 413
	WriteTimeout time.Duration // deadline of each response write (default 30s)
	ReadTimeout  time.Duration // deadline for reading a request (default 60s)
	Logger       *slog.Logger  // optional
}

// Server answers the API on one engine, with its own metrics registry.
type Server struct {
	cfg     Config
	eng     *scheduler.Engine
	metrics *metrics
	mux     *http.ServeMux
	created int64
	log     *slog.Logger
}

// New starts the engine and builds the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil || cfg.Workers == nil || cfg.KV == nil {
		return nil, fmt.Errorf("server: model, workers and kv pool are required")
	}
	if cfg.ModelName == "" {
		cfg.ModelName = DefaultModelName(cfg.Model.Source)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	s := &Server{cfg: cfg, created: time.Now().Unix(), log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(cfg.ModelName)
	opt := cfg.Scheduler
	opt.OnFirstToken = chain(opt.OnFirstToken, s.metrics.observeTTFT)
	opt.OnInterToken = chain(opt.OnInterToken, s.metrics.observeITL)
	eng, err := scheduler.NewEngine(cfg.Model, cfg.Workers, cfg.KV, opt)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.eng = eng
	s.metrics.register(eng)
	s.routes()
	return s, nil
}

// DefaultModelName is the served id of a model path: its base name without
// the .gguf extension.
func DefaultModelName(path string) string {
	return strings.TrimSuffix(filepath.Base(filepath.Clean(path)), ".gguf")
}

func chain(a, b func(time.Duration)) func(time.Duration) {
	if a == nil {
		return b
	}
	return func(d time.Duration) { a(d); b(d) }
}

// Engine is the engine behind the server.
func (s *Server) Engine() *scheduler.Engine { return s.eng }

// ModelName is the served model id.
func (s *Server) ModelName() string { return s.cfg.ModelName }

// Handler is the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.mux }

// HTTPServer wraps the handler in an http.Server with kvpack's timeouts
// (see the package doc: no server-wide WriteTimeout).
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr: addr, Handler: s.mux,
		ReadHeaderTimeout: headerTimeout, ReadTimeout: s.cfg.ReadTimeout, IdleTimeout: DefaultIdleTimeout,
		MaxHeaderBytes: 64 << 10,
	}
}

// Serve answers on ln until the listener closes.
func (s *Server) Serve(ln net.Listener) error {
	return s.HTTPServer(ln.Addr().String()).Serve(ln)
}

// Close stops the engine: requests in flight end with an error event.
func (s *Server) Close() { s.eng.Close() }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/health", s.method(http.MethodGet, s.health))
	s.mux.Handle("/metrics", s.metrics.handler())
	s.mux.HandleFunc("/v1/models", s.auth(s.method(http.MethodGet, s.models)))
	s.mux.HandleFunc("/v1/models/{id...}", s.auth(s.method(http.MethodGet, s.model)))
	s.mux.HandleFunc("/v1/completions", s.auth(s.method(http.MethodPost, s.completions)))
	s.mux.HandleFunc("/v1/chat/completions", s.auth(s.method(http.MethodPost, s.chat)))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: typeNotFound, Code: strp(codeNotFound),
			Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
}

// method answers 405 for other methods than m.
func (s *Server) method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", m)
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest, Code: strp(codeMethod),
				Message: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, m)})
			return
		}
		h(w, r)
	}
}

// auth checks the Bearer key when one is configured (constant-time compare).
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kvpack"`)
			writeError(w, &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: strp(codeInvalidAPIKey),
				Message: "missing or incorrect API key: send Authorization: Bearer <key>"})
			return
		}
		h(w, r)
	}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type modelJSON struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	MaxModelLen int    `json:"max_model_len"`
}

func (s *Server) modelInfo() modelJSON {
	return modelJSON{ID: s.cfg.ModelName, Object: "model", Created: s.created, OwnedBy: "kvpack", MaxModelLen: s.cfg.Model.Config.Context}
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelJSON{s.modelInfo()}})
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	if err := s.checkModel(r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.modelInfo())
}

// checkModel accepts the served id, the model's path, or an empty name.
func (s *Server) checkModel(name string) *apiError {
	if name == "" || name == s.cfg.ModelName || name == s.cfg.Model.Source {
		return nil
	}
	return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: strp(codeModelNotFound), Param: strp("model"),
		Message: fmt.Sprintf("the model %q does not exist; this server serves %q", name, s.cfg.ModelName)}
}

// newID returns prefix + 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
