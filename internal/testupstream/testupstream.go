// Package testupstream runs fake LLM upstreams for tests: real HTTP servers
// (httptest) that speak the OpenAI, Anthropic and Ollama wire formats,
// including streams with fragmented tool-call arguments, and that can be
// told to fail in every way a real upstream does. Each server records the
// requests it received.
package testupstream

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// ToolCall is a tool call the fake model makes.
type ToolCall struct {
	ID   string
	Name string
	Args string // JSON object text
}

// Reply scripts the next answers.
type Reply struct {
	Text      string
	Thinking  string // reasoning text (Anthropic thinking block with signature "sig-1")
	ToolCalls []ToolCall
	// InterleaveTools makes OpenAI streams send the argument fragments of
	// several tool calls interleaved, as parallel tool calls can.
	InterleaveTools bool
	// UsageOnFinish puts the usage on OpenAI's finish chunk whatever the
	// request asked, as Mistral does (it rejects stream_options).
	UsageOnFinish bool

	Usage      Usage
	StopReason string // dialect value; empty: natural default

	Status    int    // non-2xx status to answer with
	ErrorBody string // body for Status (default: the dialect's error JSON)
	Header    map[string]string

	InvalidJSON bool          // non-stream body that is not JSON
	CutAfter    int           // stream: drop the connection after this many events
	CutAtStart  bool          // stream: drop the connection right after the 200 headers
	Hang        bool          // stream: after the first events, wait until the client goes away
	Delay       time.Duration // before answering
	EventDelay  time.Duration // between stream events

	Embedding  []float32 // per input
	TokenCount int       // count_tokens answer
	Models     []string  // Ollama /api/tags
}

// Usage of the fake answer.
type Usage struct{ Input, Output, CacheRead, CacheWrite int }

// Recorded is one request the fake upstream received.
type Recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// JSON decodes the recorded body into a generic map.
func (r Recorded) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Server is a fake upstream.
type Server struct {
	*httptest.Server
	mu        sync.Mutex
	reply     Reply
	script    []Reply // answers to the next POST requests, in order, before reply
	requests  []Recorded
	cancelled int
	dialect   string
}

// New starts a fake upstream of dialect "openai", "anthropic", "ollama",
// "gemini" (Google: the Gemini API, and Vertex AI's Gemini and Claude
// paths), "bedrock" (Converse and ConverseStream, SigV4 verified) or
// "cohere" (v2 Chat and Embed).
// Close it when done (t.Cleanup(s.Close)).
func New(dialect string) *Server {
	s := &Server{dialect: dialect, reply: Reply{Text: "Hello from the upstream."}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set scripts the answers to come.
func (s *Server) Set(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = r
}

// Script queues one answer per coming POST request, in order; once they
// are used up, the answer given to Set applies again. GET requests (model
// lists, health probes) always get the Set answer.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]Reply(nil), replies...)
}

// Posts counts the POST requests received (generations, embeddings).
func (s *Server) Posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// Requests returns what was received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// Last returns the last request received (zero if none).
func (s *Server) Last() Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return Recorded{}
	}
	return s.requests[len(s.requests)-1]
}

// Cancelled counts hanging streams whose client went away.
func (s *Server) Cancelled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	rep := s.reply
	if r.Method == http.MethodPost && len(s.script) > 0 {
		rep, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()

	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status != 0 && rep.Status/100 != 2 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.Status)
		if rep.ErrorBody != "" {
			io.WriteString(w, rep.ErrorBody)
		} else {
			io.WriteString(w, s.errorBody(rep.Status))
		}
		return
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	stream, _ := req["stream"].(bool)
	if s.dialect == "ollama" {
		if v, ok := req["stream"]; !ok || v == nil {
			stream = true // Ollama streams unless told otherwise
		}
	}
	if rep.InvalidJSON && !stream {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "broken", "choices": [`)
		return
	}
	model, _ := req["model"].(string)
	p := r.URL.Path
	if s.dialect == "gemini" && s.serveGoogle(w, r, rep, req) {
		return
	}
	if s.dialect == "bedrock" && s.serveBedrock(w, r, rep, body) {
		return
	}
	if s.dialect == "cohere" && s.serveCohere(w, r, rep, req, stream) {
		return
	}
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		if stream {
			s.openAIStream(w, r, rep, model, req)
		} else {
			writeJSON(w, openAIChat(rep, model))
		}
	case strings.HasSuffix(p, "/completions"):
		writeJSON(w, openAICompletion(rep, model))
	case s.dialect == "openai" && strings.HasSuffix(p, "/responses"):
		if stream {
			s.responsesStream(w, r, rep, model)
		} else {
			writeJSON(w, responsesObject(rep, model, "completed", responsesOutput(rep), responsesUsage(rep.Usage)))
		}
	case s.dialect == "openai" && openAIExtra(w, r, body, model, req):
	case strings.HasSuffix(p, "/embeddings"), p == "/api/embed":
		s.embeddings(w, rep, model, req)
	case strings.HasSuffix(p, "/messages/count_tokens"):
		writeJSON(w, map[string]any{"input_tokens": rep.TokenCount})
	case strings.HasSuffix(p, "/messages"):
		if stream {
			s.anthropicStream(w, r, rep, model)
		} else {
			writeJSON(w, anthropicMessage(rep, model))
		}
	case p == "/api/chat":
		if stream {
			s.ollamaStream(w, r, rep, model)
		} else {
			writeJSON(w, ollamaChat(rep, model, true))
		}
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/models"):
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": "fake-model", "object": "model"}}})
	case p == "/api/tags":
		var models []map[string]any
		for _, m := range rep.Models {
			models = append(models, map[string]any{"name": m, "model": m})
		}
		writeJSON(w, map[string]any{"models": models})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, s.errorBody(404))
	}
}

func (s *Server) errorBody(status int) string {
	msg := fmt.Sprintf("fake upstream error %d", status)
	switch s.dialect {
	case "anthropic":
		typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}[status]
		if typ == "" {
			typ = "api_error"
		}
		return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
	case "ollama":
		return fmt.Sprintf(`{"error":%q}`, msg)
	case "gemini":
		return googleErrorBody(status)
	case "bedrock", "cohere":
		return fmt.Sprintf(`{"message":%q}`, msg)
	default:
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "server_error"
		}
		return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, msg, typ)
	}
}

func (s *Server) embeddings(w http.ResponseWriter, rep Reply, model string, req map[string]any) {
	var inputs []any
	switch in := req["input"].(type) {
	case string:
		inputs = []any{in}
	case []any:
		inputs = in
	}
	vec := rep.Embedding
	if vec == nil {
		vec = []float32{0.1, 0.2, 0.3}
	}
	if s.dialect == "ollama" {
		var embs [][]float32
		for range inputs {
			embs = append(embs, vec)
		}
		writeJSON(w, map[string]any{"model": model, "embeddings": embs, "prompt_eval_count": len(inputs)})
		return
	}
	var data []map[string]any
	for i := range inputs {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": vec})
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": len(inputs), "total_tokens": len(inputs)}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// eventWriter writes stream events, honouring EventDelay, CutAfter and Hang.
type eventWriter struct {
	w     http.ResponseWriter
	r     *http.Request
	rep   Reply
	n     int
	s     *Server
	ended bool
}

func (s *Server) startStream(w http.ResponseWriter, r *http.Request, rep Reply, contentType string) *eventWriter {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	e := &eventWriter{w: w, r: r, rep: rep, s: s}
	if rep.CutAtStart {
		w.(http.Flusher).Flush()
		e.cut()
	}
	return e
}

// write sends one event; false means stop (cut, or client gone).
func (e *eventWriter) write(frame string) bool {
	if e.ended {
		return false
	}
	if e.rep.CutAfter > 0 && e.n >= e.rep.CutAfter {
		e.cut()
		return false
	}
	if e.n > 0 && e.rep.EventDelay > 0 {
		select {
		case <-time.After(e.rep.EventDelay):
		case <-e.r.Context().Done():
			e.ended = true
			return false
		}
	}
	if _, err := io.WriteString(e.w, frame); err != nil {
		e.ended = true
		return false
	}
	e.w.(http.Flusher).Flush()
	e.n++
	if e.rep.Hang && e.n >= 2 {
		<-e.r.Context().Done()
		e.s.mu.Lock()
		e.s.cancelled++
		e.s.mu.Unlock()
		e.ended = true
		return false
	}
	return true
}

// cut drops the connection without a proper end.
func (e *eventWriter) cut() {
	e.ended = true
	if hj, ok := e.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func sse(event string, v any) string {
	b, _ := json.Marshal(v)
	if event == "" {
		return "data: " + string(b) + "\n\n"
	}
	return "event: " + event + "\ndata: " + string(b) + "\n\n"
}

func words(text string) []string {
	var out []string
	for i, w := range strings.Fields(text) {
		if i > 0 {
			w = " " + w
		}
		out = append(out, w)
	}
	return out
}

// fragments splits s into pieces of at most n bytes.
func fragments(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func usageOr(u Usage) Usage {
	if u == (Usage{}) {
		return Usage{Input: 12, Output: 5}
	}
	return u
}
