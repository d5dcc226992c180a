package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// replyText is the fixed answer of the fake upstream: 66 words, about 88
// tokens, the size of a short real chat answer.
const replyText = "Tidal gateways work like harbour locks: they hold the water back, " +
	"check every vessel, and let it through when the conditions are right. " +
	"A good gateway adds almost nothing to the journey, keeps a careful log of " +
	"each passage, and never lets a ship leave with a torn sail or an empty hold. " +
	"That is the whole idea behind a fast, honest and well kept tidewater."

const (
	maxRequestBody = 4 << 20
	maxCachedBody  = 64 // distinct rendered responses kept by the upstream
	createdUnix    = 1735689600
)

// upstream is the fake provider. Responses depend only on the requested
// model, the stream flags and the prompt size, so each distinct rendering
// is built once with encoding/json and then served as bytes.
type upstream struct {
	apiKey string
	delay  time.Duration // before every stream event
	words  []string      // replyText split for streaming, leading spaces kept

	rendered sync.Map // renderKey -> [][]byte
	nCached  atomic.Int32
}

type renderKey struct {
	api          string // "openai" or "anthropic"
	model        string
	stream       bool
	includeUsage bool
	promptTokens int
}

func newUpstream(apiKey string, delay time.Duration) *upstream {
	fields := strings.Fields(replyText)
	words := make([]string, len(fields))
	for i, w := range fields {
		if i > 0 {
			w = " " + w
		}
		words[i] = w
	}
	return &upstream{apiKey: apiKey, delay: delay, words: words}
}

func runUpstream(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", loopback+":18080", "address (127.0.0.1 only)")
	apiKey := fs.String("api-key", "bench", "API key callers must send")
	delay := fs.Duration("event-delay", 0, "sleep before each stream event")
	lifetime := fs.Duration("lifetime", 15*time.Minute, "exit after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serve(ctx, *listen, newUpstream(*apiKey, *delay).handler(), *lifetime)
}

func (u *upstream) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.openaiChat)
	mux.HandleFunc("POST /v1/messages", u.anthropicMessages)
	mux.HandleFunc("POST "+mcpLookupURL, u.lookupOrder)
	return mux
}

func (u *upstream) completionTokens() int { return len(u.words) * 4 / 3 }

func (u *upstream) openaiChat(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+u.apiKey {
		openaiError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		openaiError(w, http.StatusBadRequest, "invalid_request_error", "reading body: "+err.Error())
		return
	}
	var req struct {
		Model         string            `json:"model"`
		Messages      []json.RawMessage `json:"messages"`
		Stream        bool              `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		openaiError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if req.Model == "" || len(req.Messages) == 0 {
		openaiError(w, http.StatusBadRequest, "invalid_request_error", "model and messages are required")
		return
	}
	key := renderKey{api: "openai", model: req.Model, stream: req.Stream, promptTokens: len(body) / 4}
	if req.StreamOptions != nil {
		key.includeUsage = req.StreamOptions.IncludeUsage
	}
	u.respond(w, r, key)
}

func (u *upstream) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("x-api-key") != u.apiKey {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "reading body: "+err.Error())
		return
	}
	var req struct {
		Model     string            `json:"model"`
		MaxTokens int               `json:"max_tokens"`
		Messages  []json.RawMessage `json:"messages"`
		Stream    bool              `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return
	}
	switch {
	case req.Model == "":
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return
	case req.MaxTokens <= 0:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return
	case len(req.Messages) == 0:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "messages: Field required")
		return
	}
	u.respond(w, r, renderKey{api: "anthropic", model: req.Model, stream: req.Stream, promptTokens: len(body) / 4})
}

// respond writes the rendering for key: one JSON body, or SSE events
// flushed one by one.
func (u *upstream) respond(w http.ResponseWriter, r *http.Request, key renderKey) {
	parts, err := u.render(key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if key.api == "openai" {
		h.Set("x-request-id", "req_bench")
	} else {
		h.Set("request-id", "req_bench")
	}
	if !key.stream {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(parts[0])))
		_, _ = w.Write(parts[0])
		return
	}
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var timer *time.Timer
	for _, ev := range parts {
		if u.delay > 0 {
			if timer == nil {
				timer = time.NewTimer(u.delay)
				defer timer.Stop()
			} else {
				timer.Reset(u.delay)
			}
			select {
			case <-r.Context().Done():
				return
			case <-timer.C:
			}
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// render returns the response parts for key, from the cache when possible.
func (u *upstream) render(key renderKey) ([][]byte, error) {
	if v, ok := u.rendered.Load(key); ok {
		return v.([][]byte), nil
	}
	var parts [][]byte
	var err error
	switch {
	case key.api == "openai" && key.stream:
		parts, err = u.openaiStream(key)
	case key.api == "openai":
		parts, err = u.openaiResponse(key)
	case key.stream:
		parts, err = u.anthropicStream(key)
	default:
		parts, err = u.anthropicResponse(key)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s response: %w", key.api, err)
	}
	if u.nCached.Add(1) <= maxCachedBody {
		u.rendered.Store(key, parts)
	}
	return parts, nil
}

// ---- OpenAI wire format ----

type openaiUsage struct {
	PromptTokens      int            `json:"prompt_tokens"`
	CompletionTokens  int            `json:"completion_tokens"`
	TotalTokens       int            `json:"total_tokens"`
	PromptDetails     map[string]int `json:"prompt_tokens_details"`
	CompletionDetails map[string]int `json:"completion_tokens_details"`
}

func (u *upstream) openaiUsage(key renderKey) *openaiUsage {
	c := u.completionTokens()
	return &openaiUsage{
		PromptTokens:      key.promptTokens,
		CompletionTokens:  c,
		TotalTokens:       key.promptTokens + c,
		PromptDetails:     map[string]int{"cached_tokens": 0, "audio_tokens": 0},
		CompletionDetails: map[string]int{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

func (u *upstream) openaiResponse(key renderKey) ([][]byte, error) {
	type message struct {
		Role        string   `json:"role"`
		Content     string   `json:"content"`
		Refusal     *string  `json:"refusal"`
		Annotations []string `json:"annotations"`
	}
	type choice struct {
		Index        int             `json:"index"`
		Message      message         `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	}
	b, err := json.Marshal(struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		Choices           []choice     `json:"choices"`
		Usage             *openaiUsage `json:"usage"`
		ServiceTier       string       `json:"service_tier"`
		SystemFingerprint string       `json:"system_fingerprint"`
	}{
		ID: "chatcmpl-bench", Object: "chat.completion", Created: createdUnix, Model: key.model,
		Choices: []choice{{
			Message:      message{Role: "assistant", Content: replyText, Annotations: []string{}},
			Logprobs:     json.RawMessage("null"),
			FinishReason: "stop",
		}},
		Usage:             u.openaiUsage(key),
		ServiceTier:       "default",
		SystemFingerprint: "fp_bench",
	})
	return [][]byte{b}, err
}

// openaiStream renders chat.completion.chunk events: the role, one chunk
// per word, the finish reason, the usage chunk (when asked) and [DONE].
func (u *upstream) openaiStream(key renderKey) ([][]byte, error) {
	type choice struct {
		Index        int             `json:"index"`
		Delta        json.RawMessage `json:"delta"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	}
	type chunk struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		ServiceTier       string          `json:"service_tier"`
		SystemFingerprint string          `json:"system_fingerprint"`
		Choices           []choice        `json:"choices"`
		Usage             json.RawMessage `json:"usage,omitempty"`
	}
	newChunk := func(choices []choice) chunk {
		c := chunk{ID: "chatcmpl-bench", Object: "chat.completion.chunk", Created: createdUnix,
			Model: key.model, ServiceTier: "default", SystemFingerprint: "fp_bench", Choices: choices}
		if key.includeUsage {
			c.Usage = json.RawMessage("null")
		}
		return c
	}
	null := json.RawMessage("null")
	chunks := []chunk{newChunk([]choice{{Delta: json.RawMessage(`{"role":"assistant","content":"","refusal":null}`), Logprobs: null}})}
	for _, word := range u.words {
		delta, err := json.Marshal(struct {
			Content string `json:"content"`
		}{word})
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, newChunk([]choice{{Delta: delta, Logprobs: null}}))
	}
	stop := "stop"
	chunks = append(chunks, newChunk([]choice{{Delta: json.RawMessage(`{}`), Logprobs: null, FinishReason: &stop}}))
	if key.includeUsage {
		usage, err := json.Marshal(u.openaiUsage(key))
		if err != nil {
			return nil, err
		}
		last := newChunk([]choice{})
		last.Usage = usage
		chunks = append(chunks, last)
	}
	parts := make([][]byte, 0, len(chunks)+1)
	for _, c := range chunks {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		parts = append(parts, sseData("", b))
	}
	return append(parts, []byte("data: [DONE]\n\n")), nil
}

// ---- Anthropic wire format ----

type anthropicUsage struct {
	InputTokens              int    `json:"input_tokens"`
	CacheCreationInputTokens int    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int    `json:"cache_read_input_tokens"`
	OutputTokens             int    `json:"output_tokens"`
	ServiceTier              string `json:"service_tier"`
}

type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicMessage struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        anthropicUsage   `json:"usage"`
}

func (u *upstream) anthropicMessage(key renderKey, content []anthropicBlock, stopReason *string, outputTokens int) anthropicMessage {
	return anthropicMessage{
		ID: "msg_bench", Type: "message", Role: "assistant", Model: key.model,
		Content: content, StopReason: stopReason,
		Usage: anthropicUsage{InputTokens: key.promptTokens, OutputTokens: outputTokens, ServiceTier: "standard"},
	}
}

func (u *upstream) anthropicResponse(key renderKey) ([][]byte, error) {
	endTurn := "end_turn"
	b, err := json.Marshal(u.anthropicMessage(key, []anthropicBlock{{Type: "text", Text: replyText}}, &endTurn, u.completionTokens()))
	return [][]byte{b}, err
}

// anthropicStream renders message_start, content_block_start, ping, one
// content_block_delta per word, content_block_stop, message_delta (with
// the usage) and message_stop. Fields keep the API's order, "type" first.
func (u *upstream) anthropicStream(key renderKey) ([][]byte, error) {
	type textDelta struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type stopDelta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	type data struct {
		Type         string            `json:"type"`
		Message      *anthropicMessage `json:"message,omitempty"`
		Index        *int              `json:"index,omitempty"`
		ContentBlock *anthropicBlock   `json:"content_block,omitempty"`
		Delta        any               `json:"delta,omitempty"`
		Usage        map[string]int    `json:"usage,omitempty"`
	}
	zero := 0
	start := u.anthropicMessage(key, []anthropicBlock{}, nil, 1)
	events := []data{
		{Type: "message_start", Message: &start},
		{Type: "content_block_start", Index: &zero, ContentBlock: &anthropicBlock{Type: "text"}},
		{Type: "ping"},
	}
	for _, word := range u.words {
		events = append(events, data{Type: "content_block_delta", Index: &zero, Delta: textDelta{Type: "text_delta", Text: word}})
	}
	events = append(events,
		data{Type: "content_block_stop", Index: &zero},
		data{Type: "message_delta", Delta: stopDelta{StopReason: "end_turn"}, Usage: map[string]int{"output_tokens": u.completionTokens()}},
		data{Type: "message_stop"},
	)
	parts := make([][]byte, 0, len(events))
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		parts = append(parts, sseData(ev.Type, b))
	}
	return parts, nil
}

// sseData frames one server-sent event.
func sseData(event string, data []byte) []byte {
	var b []byte
	if event != "" {
		b = append(b, "event: "+event+"\n"...)
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// ---- errors in each dialect ----

func openaiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// lookupOrder is the MCP scenarios' API operation: a JSON body {"id": N}
// in, a small order object out.
func (u *upstream) lookupOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID *int64 `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.ID == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"id\": N}"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": *in.ID, "item": "tidewater tide table", "quantity": 2})
}
