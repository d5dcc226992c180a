package testupstream

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Google's wire formats: the Gemini API (generateContent,
// streamGenerateContent?alt=sse, batchEmbedContents) and, for Vertex AI's
// Claude models, rawPredict/streamRawPredict with Anthropic bodies.

// googleMethod splits ".../models/{model}:{method}".
func googleMethod(path string) (model, method string, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return "", "", false
	}
	model, method, ok = strings.Cut(path[i+len("/models/"):], ":")
	return model, method, ok
}

func geminiFinish(rep Reply) string {
	if rep.StopReason != "" {
		return rep.StopReason
	}
	return "STOP"
}

func geminiUsage(u Usage, thoughts bool) map[string]any {
	m := map[string]any{"promptTokenCount": u.Input, "candidatesTokenCount": u.Output,
		"totalTokenCount": u.Input + u.Output, "cachedContentTokenCount": u.CacheRead}
	if thoughts {
		m["thoughtsTokenCount"] = 3
		m["totalTokenCount"] = u.Input + u.Output + 3
	}
	return m
}

func geminiChunk(parts []any, finish string, usage map[string]any, model string) map[string]any {
	c := map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "index": 0}
	if finish != "" {
		c["finishReason"] = finish
	}
	out := map[string]any{"candidates": []any{c}, "modelVersion": model, "responseId": "gemini-fake"}
	if usage != nil {
		out["usageMetadata"] = usage
	}
	return out
}

func geminiCallParts(rep Reply) []any {
	var parts []any
	for i, tc := range rep.ToolCalls {
		var args any
		_ = json.Unmarshal([]byte(tc.Args), &args)
		p := map[string]any{"functionCall": map[string]any{"name": tc.Name, "args": args}}
		if i == 0 {
			p["thoughtSignature"] = "c2lnLWdlbWluaQ=="
		}
		parts = append(parts, p)
	}
	return parts
}

func geminiResponse(rep Reply, model string) map[string]any {
	var parts []any
	if rep.Thinking != "" {
		parts = append(parts, map[string]any{"text": rep.Thinking, "thought": true})
	}
	if rep.Text != "" {
		parts = append(parts, map[string]any{"text": rep.Text})
	}
	parts = append(parts, geminiCallParts(rep)...)
	return geminiChunk(parts, geminiFinish(rep), geminiUsage(usageOr(rep.Usage), rep.Thinking != ""), model)
}

// geminiStream sends thoughts and text word by word, the function calls
// whole, and the finish with usage in the last chunk; no terminator.
func (s *Server) geminiStream(w http.ResponseWriter, r *http.Request, rep Reply, model string) {
	e := s.startStream(w, r, rep, "text/event-stream")
	for _, t := range words(rep.Thinking) {
		if !e.write(sse("", geminiChunk([]any{map[string]any{"text": t, "thought": true}}, "", nil, model))) {
			return
		}
	}
	for _, t := range words(rep.Text) {
		if !e.write(sse("", geminiChunk([]any{map[string]any{"text": t}}, "", nil, model))) {
			return
		}
	}
	last := geminiCallParts(rep)
	if last == nil {
		last = []any{map[string]any{"text": ""}}
	}
	e.write(sse("", geminiChunk(last, geminiFinish(rep), geminiUsage(usageOr(rep.Usage), rep.Thinking != ""), model)))
}

func (s *Server) geminiEmbed(w http.ResponseWriter, rep Reply, req map[string]any) {
	reqs, _ := req["requests"].([]any)
	vec := rep.Embedding
	if vec == nil {
		vec = []float32{0.1, 0.2, 0.3}
	}
	var out []any
	for range reqs {
		out = append(out, map[string]any{"values": vec})
	}
	writeJSON(w, map[string]any{"embeddings": out})
}

func googleErrorBody(status int) string {
	name := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}[status]
	if name == "" {
		name = "INTERNAL"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": "fake upstream error " + http.StatusText(status), "status": name}})
	return string(b)
}

// serveGoogle answers the ":method" paths; false when path is not one.
func (s *Server) serveGoogle(w http.ResponseWriter, r *http.Request, rep Reply, req map[string]any) bool {
	model, method, ok := googleMethod(r.URL.Path)
	if !ok {
		return false
	}
	switch method {
	case "generateContent":
		writeJSON(w, geminiResponse(rep, model))
	case "streamGenerateContent":
		s.geminiStream(w, r, rep, model)
	case "batchEmbedContents":
		s.geminiEmbed(w, rep, req)
	case "rawPredict":
		writeJSON(w, anthropicMessage(rep, model))
	case "streamRawPredict":
		s.anthropicStream(w, r, rep, model)
	default:
		return false
	}
	return true
}
