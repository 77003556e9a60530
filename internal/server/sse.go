package server

import (
	"encoding/json"
	"net/http"
	"time"
)

// sse writes server-sent events: "data: <json>\n\n" per chunk and
// "data: [DONE]\n\n" at the end, flushing each. Every write gets its own
// deadline, so a stalled client is dropped while long streams live on.
// After the first failed write, err is set and further sends do nothing.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func newSSE(w http.ResponseWriter, timeout time.Duration) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// send writes one event holding v as JSON.
func (s *sse) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":{"message":"encoding a chunk failed","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	s.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

// done writes the terminating event.
func (s *sse) done() { s.write([]byte("data: [DONE]\n\n")) }

func (s *sse) write(b []byte) {
	if s.err != nil {
		return
	}
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) // unsupported writers (tests) just have none
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
}
