package testupstream

import (
	"net/http"
)

// OpenAI's Responses API (POST /v1/responses), as its documentation
// describes the Response object and the stream's typed events. The fake
// answers with Reply.Text as one message item and Reply.ToolCalls as
// function_call items; the response id is "resp_fake".

func responsesUsage(u Usage) map[string]any {
	u = usageOr(u)
	return map[string]any{"input_tokens": u.Input, "input_tokens_details": map[string]any{"cached_tokens": u.CacheRead},
		"output_tokens": u.Output, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": u.Input + u.Output}
}

func responsesObject(rep Reply, model, status string, output []any, usage any) map[string]any {
	return map[string]any{"id": "resp_fake", "object": "response", "created_at": 1700000000, "status": status,
		"error": nil, "incomplete_details": nil, "model": model, "output": output, "parallel_tool_calls": true,
		"tool_choice": "auto", "tools": []any{}, "temperature": 1.0, "top_p": 1.0, "usage": usage}
}

func responsesMessage(text, status string) map[string]any {
	content := []any{}
	if status == "completed" {
		content = []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}
	}
	return map[string]any{"id": "msg_fake", "type": "message", "status": status, "role": "assistant", "content": content}
}

func responsesCall(tc ToolCall, status string) map[string]any {
	args := ""
	if status == "completed" {
		args = tc.Args
	}
	return map[string]any{"id": "fc_" + tc.ID, "type": "function_call", "status": status, "call_id": tc.ID, "name": tc.Name, "arguments": args}
}

func responsesOutput(rep Reply) []any {
	var out []any
	if rep.Text != "" {
		out = append(out, responsesMessage(rep.Text, "completed"))
	}
	for _, tc := range rep.ToolCalls {
		out = append(out, responsesCall(tc, "completed"))
	}
	return out
}

func (s *Server) responsesStream(w http.ResponseWriter, r *http.Request, rep Reply, model string) {
	e := s.startStream(w, r, rep, "text/event-stream")
	seq := 0
	send := func(typ string, fields map[string]any) bool {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		return e.write(sse(typ, fields))
	}
	if !send("response.created", map[string]any{"response": responsesObject(rep, model, "in_progress", []any{}, nil)}) ||
		!send("response.in_progress", map[string]any{"response": responsesObject(rep, model, "in_progress", []any{}, nil)}) {
		return
	}
	index := 0
	if rep.Text != "" {
		item := map[string]any{"item_id": "msg_fake", "output_index": index, "content_index": 0}
		with := func(k string, v any) map[string]any {
			m := map[string]any{k: v}
			for kk, vv := range item {
				m[kk] = vv
			}
			return m
		}
		if !send("response.output_item.added", map[string]any{"output_index": index, "item": responsesMessage("", "in_progress")}) ||
			!send("response.content_part.added", with("part", map[string]any{"type": "output_text", "text": "", "annotations": []any{}})) {
			return
		}
		for _, t := range words(rep.Text) {
			if !send("response.output_text.delta", with("delta", t)) {
				return
			}
		}
		if !send("response.output_text.done", with("text", rep.Text)) ||
			!send("response.content_part.done", with("part", map[string]any{"type": "output_text", "text": rep.Text, "annotations": []any{}})) ||
			!send("response.output_item.done", map[string]any{"output_index": index, "item": responsesMessage(rep.Text, "completed")}) {
			return
		}
		index++
	}
	for _, tc := range rep.ToolCalls {
		if !send("response.output_item.added", map[string]any{"output_index": index, "item": responsesCall(tc, "in_progress")}) {
			return
		}
		for _, f := range fragments(tc.Args, 3) {
			if !send("response.function_call_arguments.delta", map[string]any{"item_id": "fc_" + tc.ID, "output_index": index, "delta": f}) {
				return
			}
		}
		if !send("response.function_call_arguments.done", map[string]any{"item_id": "fc_" + tc.ID, "output_index": index, "arguments": tc.Args}) ||
			!send("response.output_item.done", map[string]any{"output_index": index, "item": responsesCall(tc, "completed")}) {
			return
		}
		index++
	}
	send("response.completed", map[string]any{"response": responsesObject(rep, model, "completed", responsesOutput(rep), responsesUsage(rep.Usage))})
}
