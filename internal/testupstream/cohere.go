package testupstream

import (
	"encoding/json"
	"net/http"
)

// Cohere's v2 Chat wire format: /v2/chat (whole answers and typed SSE
// events) and /v2/embed.

func cohereFinish(rep Reply) string {
	switch {
	case rep.StopReason != "":
		return rep.StopReason
	case len(rep.ToolCalls) > 0:
		return "TOOL_CALL"
	}
	return "COMPLETE"
}

func cohereUsage(u Usage) map[string]any {
	return map[string]any{"billed_units": map[string]any{"input_tokens": u.Input, "output_tokens": u.Output},
		"tokens": map[string]any{"input_tokens": u.Input, "output_tokens": u.Output}, "cached_tokens": u.CacheRead}
}

func cohereMessage(rep Reply) map[string]any {
	msg := map[string]any{"role": "assistant"}
	var content []any
	if rep.Thinking != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": rep.Thinking})
	}
	if rep.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	if content != nil {
		msg["content"] = content
	}
	var calls []any
	for _, tc := range rep.ToolCalls {
		calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Args}})
	}
	if calls != nil {
		msg["tool_plan"] = "I will call the tools."
		msg["tool_calls"] = calls
	}
	return map[string]any{"id": "cohere-fake", "finish_reason": cohereFinish(rep), "message": msg, "usage": cohereUsage(usageOr(rep.Usage))}
}

func (s *Server) cohereStream(w http.ResponseWriter, r *http.Request, rep Reply) {
	e := s.startStream(w, r, rep, "text/event-stream")
	ev := func(typ string, v map[string]any) bool {
		v["type"] = typ
		return e.write(sse(typ, v))
	}
	if !ev("message-start", map[string]any{"id": "cohere-fake", "delta": map[string]any{"message": map[string]any{"role": "assistant", "content": []any{}, "tool_calls": []any{}}}}) {
		return
	}
	idx := 0
	block := func(kind string, parts []string) bool {
		key := map[string]string{"text": "text", "thinking": "thinking"}[kind]
		if !ev("content-start", map[string]any{"index": idx, "delta": map[string]any{"message": map[string]any{"content": map[string]any{"type": kind, key: ""}}}}) {
			return false
		}
		for _, p := range parts {
			if !ev("content-delta", map[string]any{"index": idx, "delta": map[string]any{"message": map[string]any{"content": map[string]any{key: p}}}}) {
				return false
			}
		}
		ok := ev("content-end", map[string]any{"index": idx})
		idx++
		return ok
	}
	if rep.Thinking != "" && !block("thinking", words(rep.Thinking)) {
		return
	}
	if rep.Text != "" && !block("text", words(rep.Text)) {
		return
	}
	for i, tc := range rep.ToolCalls {
		if !ev("tool-call-start", map[string]any{"index": i, "delta": map[string]any{"message": map[string]any{"tool_calls": map[string]any{
			"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}}}}) {
			return
		}
		for _, a := range fragments(tc.Args, 7) {
			if !ev("tool-call-delta", map[string]any{"index": i, "delta": map[string]any{"message": map[string]any{"tool_calls": map[string]any{"function": map[string]any{"arguments": a}}}}}) {
				return
			}
		}
		if !ev("tool-call-end", map[string]any{"index": i}) {
			return
		}
	}
	ev("message-end", map[string]any{"delta": map[string]any{"finish_reason": cohereFinish(rep), "usage": cohereUsage(usageOr(rep.Usage))}})
}

// serveCohere answers /v2/chat and /v2/embed; false for other paths.
func (s *Server) serveCohere(w http.ResponseWriter, r *http.Request, rep Reply, req map[string]any, stream bool) bool {
	switch r.URL.Path {
	case "/v2/chat":
		if stream {
			s.cohereStream(w, r, rep)
		} else {
			writeJSON(w, cohereMessage(rep))
		}
	case "/v2/embed":
		texts, _ := req["texts"].([]any)
		vec := rep.Embedding
		if vec == nil {
			vec = []float32{0.1, 0.2, 0.3}
		}
		var out [][]float32
		for range texts {
			out = append(out, vec)
		}
		b, _ := json.Marshal(map[string]any{"id": "emb-fake", "embeddings": map[string]any{"float": out}, "texts": texts,
			"meta": map[string]any{"billed_units": map[string]any{"input_tokens": len(texts)}}})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	default:
		return false
	}
	return true
}
