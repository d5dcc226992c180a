package testupstream

import (
	"encoding/json"
	"net/http"
	"time"
)

func openAIUsage(u Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Input, "completion_tokens": u.Output, "total_tokens": u.Input + u.Output,
		"prompt_tokens_details": map[string]any{"cached_tokens": u.CacheRead},
	}
}

func openAIFinish(rep Reply) string {
	switch {
	case rep.StopReason != "":
		return rep.StopReason
	case len(rep.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func openAIChat(rep Reply, model string) map[string]any {
	msg := map[string]any{"role": "assistant", "content": rep.Text}
	if rep.Text == "" {
		msg["content"] = nil
	}
	if rep.Thinking != "" {
		msg["reasoning_content"] = rep.Thinking
	}
	if len(rep.ToolCalls) > 0 {
		var calls []map[string]any
		for _, tc := range rep.ToolCalls {
			calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Args}})
		}
		msg["tool_calls"] = calls
	}
	return map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices":            []any{map[string]any{"index": 0, "message": msg, "finish_reason": openAIFinish(rep), "logprobs": nil}},
		"usage":              openAIUsage(usageOr(rep.Usage)),
		"system_fingerprint": "fp_fake", "service_tier": "default",
	}
}

func openAICompletion(rep Reply, model string) map[string]any {
	return map[string]any{
		"id": "cmpl-fake", "object": "text_completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "text": rep.Text, "finish_reason": openAIFinish(rep), "logprobs": nil}},
		"usage":   openAIUsage(usageOr(rep.Usage)),
	}
}

func (s *Server) openAIStream(w http.ResponseWriter, r *http.Request, rep Reply, model string, req map[string]any) {
	e := s.startStream(w, r, rep, "text/event-stream")
	chunk := func(delta map[string]any, finish any) string {
		return sse("", map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
	}
	if !e.write(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for _, t := range words(rep.Thinking) {
		if !e.write(chunk(map[string]any{"reasoning_content": t}, nil)) {
			return
		}
	}
	for _, t := range words(rep.Text) {
		if !e.write(chunk(map[string]any{"content": t}, nil)) {
			return
		}
	}
	// Tool calls: a header fragment (id, name) then argument fragments.
	type frag struct {
		index int
		delta map[string]any
	}
	var perTool [][]frag
	for i, tc := range rep.ToolCalls {
		fr := []frag{{i, map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}}}
		for _, a := range fragments(tc.Args, 7) {
			fr = append(fr, frag{i, map[string]any{"index": i, "function": map[string]any{"arguments": a}}})
		}
		perTool = append(perTool, fr)
	}
	var order []frag
	if rep.InterleaveTools {
		for more := true; more; {
			more = false
			for i := range perTool {
				if len(perTool[i]) > 0 {
					order = append(order, perTool[i][0])
					perTool[i] = perTool[i][1:]
					more = true
				}
			}
		}
	} else {
		for _, fr := range perTool {
			order = append(order, fr...)
		}
	}
	for _, f := range order {
		if !e.write(chunk(map[string]any{"tool_calls": []any{f.delta}}, nil)) {
			return
		}
	}
	if rep.UsageOnFinish {
		c := map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": openAIFinish(rep)}},
			"usage":   openAIUsage(usageOr(rep.Usage)),
		}
		if !e.write(sse("", c)) {
			return
		}
		e.write("data: [DONE]\n\n")
		return
	}
	if !e.write(chunk(map[string]any{}, openAIFinish(rep))) {
		return
	}
	if so, _ := req["stream_options"].(map[string]any); so["include_usage"] == true {
		if !e.write(sse("", map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": openAIUsage(usageOr(rep.Usage))})) {
			return
		}
	}
	e.write("data: [DONE]\n\n")
}

func anthropicStop(rep Reply) string {
	switch {
	case rep.StopReason != "":
		return rep.StopReason
	case len(rep.ToolCalls) > 0:
		return "tool_use"
	}
	return "end_turn"
}

func anthropicUsage(u Usage) map[string]any {
	return map[string]any{"input_tokens": u.Input, "output_tokens": u.Output,
		"cache_read_input_tokens": u.CacheRead, "cache_creation_input_tokens": u.CacheWrite}
}

func anthropicMessage(rep Reply, model string) map[string]any {
	var content []any
	if rep.Thinking != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": rep.Thinking, "signature": "sig-1"})
	}
	if rep.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	for _, tc := range rep.ToolCalls {
		var input any
		_ = json.Unmarshal([]byte(tc.Args), &input)
		content = append(content, map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": input})
	}
	return map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": anthropicStop(rep), "stop_sequence": nil, "usage": anthropicUsage(usageOr(rep.Usage))}
}

func (s *Server) anthropicStream(w http.ResponseWriter, r *http.Request, rep Reply, model string) {
	e := s.startStream(w, r, rep, "text/event-stream")
	u := usageOr(rep.Usage)
	start := anthropicUsage(u)
	start["output_tokens"] = 1
	if !e.write(sse("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start}})) {
		return
	}
	idx := 0
	block := func(start map[string]any, deltas []map[string]any) bool {
		if !e.write(sse("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": start})) {
			return false
		}
		for _, d := range deltas {
			if !e.write(sse("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": d})) {
				return false
			}
		}
		ok := e.write(sse("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx}))
		idx++
		return ok
	}
	if rep.Thinking != "" {
		var ds []map[string]any
		for _, t := range words(rep.Thinking) {
			ds = append(ds, map[string]any{"type": "thinking_delta", "thinking": t})
		}
		ds = append(ds, map[string]any{"type": "signature_delta", "signature": "sig-1"})
		if !block(map[string]any{"type": "thinking", "thinking": "", "signature": ""}, ds) {
			return
		}
	}
	if rep.Text != "" {
		var ds []map[string]any
		for _, t := range words(rep.Text) {
			ds = append(ds, map[string]any{"type": "text_delta", "text": t})
		}
		if !block(map[string]any{"type": "text", "text": ""}, ds) {
			return
		}
	}
	if !e.write(sse("ping", map[string]any{"type": "ping"})) {
		return
	}
	for _, tc := range rep.ToolCalls {
		var ds []map[string]any
		for _, a := range fragments(tc.Args, 7) {
			ds = append(ds, map[string]any{"type": "input_json_delta", "partial_json": a})
		}
		if !block(map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": map[string]any{}}, ds) {
			return
		}
	}
	if !e.write(sse("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": anthropicStop(rep), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": u.Output}})) {
		return
	}
	e.write(sse("message_stop", map[string]any{"type": "message_stop"}))
}

func ollamaChat(rep Reply, model string, done bool) map[string]any {
	msg := map[string]any{"role": "assistant", "content": rep.Text}
	if rep.Thinking != "" {
		msg["thinking"] = rep.Thinking
	}
	if len(rep.ToolCalls) > 0 {
		var calls []map[string]any
		for _, tc := range rep.ToolCalls {
			var args any
			_ = json.Unmarshal([]byte(tc.Args), &args)
			calls = append(calls, map[string]any{"function": map[string]any{"name": tc.Name, "arguments": args}})
		}
		msg["tool_calls"] = calls
	}
	u := usageOr(rep.Usage)
	reason := rep.StopReason
	if reason == "" {
		reason = "stop"
	}
	return map[string]any{"model": model, "created_at": "2026-11-23T10:00:00Z", "message": msg, "done": done,
		"done_reason": reason, "prompt_eval_count": u.Input, "eval_count": u.Output, "total_duration": 1000}
}

func (s *Server) ollamaStream(w http.ResponseWriter, r *http.Request, rep Reply, model string) {
	e := s.startStream(w, r, rep, "application/x-ndjson")
	line := func(v any) string { b, _ := json.Marshal(v); return string(b) + "\n" }
	part := func(msg map[string]any) string {
		return line(map[string]any{"model": model, "created_at": "2026-11-23T10:00:00Z", "message": msg, "done": false})
	}
	for _, t := range words(rep.Thinking) {
		if !e.write(part(map[string]any{"role": "assistant", "content": "", "thinking": t})) {
			return
		}
	}
	for _, t := range words(rep.Text) {
		if !e.write(part(map[string]any{"role": "assistant", "content": t})) {
			return
		}
	}
	if len(rep.ToolCalls) > 0 {
		full := ollamaChat(Reply{ToolCalls: rep.ToolCalls}, model, false)
		if !e.write(line(full)) {
			return
		}
	}
	final := ollamaChat(Reply{Usage: rep.Usage, StopReason: rep.StopReason}, model, true)
	final["message"] = map[string]any{"role": "assistant", "content": ""}
	e.write(line(final))
}
