package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// quirks are an OpenAI-compatible service's documented departures from
// OpenAI's Chat Completions API. They are applied to the finished request
// body (translated or passed through), so the dialect encoder stays one.
// A nil *quirks changes nothing.
type quirks struct {
	typ string
	// keep, when set, lists the only top-level fields the service accepts
	// (Mistral answers 422 "Extra inputs are not permitted" to any other).
	keep map[string]bool
	// rename maps OpenAI field names to the service's.
	rename map[string]string
	// drop returns top-level fields the service rejects for a model.
	drop func(model string) []string
	// adjust rewrites top-level fields in place (OpenRouter's reasoning).
	adjust func(top map[string]json.RawMessage)
	// messageKeep, when set, lists the only message fields accepted.
	messageKeep map[string]bool
	// dropMessageName removes messages[].name (Groq: 400 when present).
	dropMessageName bool
	// shortToolIDs rewrites tool call ids to 9 alphanumerics (Mistral).
	shortToolIDs bool
	// noTools refuses tools (Perplexity has no function calling).
	noTools bool
	// alternate merges consecutive messages of one role (Perplexity
	// requires user and assistant turns to alternate).
	alternate bool
	// reasoningContent replays thinking on assistant tool-call turns as
	// reasoning_content (DeepSeek's thinking mode answers 400 without it).
	reasoningContent bool
	// completions: the service has the legacy /completions endpoint;
	// otherwise text completions are sent as chat.
	completions bool
	// headers are defaults that config headers override.
	headers map[string]string
}

// presetQuirks returns the quirks of a provider type; nil for plain
// OpenAI and for presets without any.
func presetQuirks(typ string) *quirks {
	switch typ {
	case config.TypeMistral:
		return &quirks{typ: typ,
			keep: set("model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
				"response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n",
				"prediction", "parallel_tool_calls", "prompt_mode", "safe_prompt"),
			rename:       map[string]string{"max_completion_tokens": "max_tokens", "seed": "random_seed"},
			messageKeep:  set("role", "content", "tool_calls", "tool_call_id", "name", "prefix"),
			shortToolIDs: true,
		}
	case config.TypeGroq:
		return &quirks{typ: typ, dropMessageName: true}
	case config.TypeDeepSeek:
		return &quirks{typ: typ, reasoningContent: true}
	case config.TypeXAI:
		return &quirks{typ: typ, drop: xaiRejects}
	case config.TypeOpenRouter:
		// App attribution (https://openrouter.ai/docs/app-attribution);
		// max_tokens and a reasoning object are OpenRouter's documented
		// parameters.
		return &quirks{typ: typ, headers: map[string]string{
			"HTTP-Referer": "https://github.com/tidegate/tidegate", "X-Title": "tidegate"},
			rename: map[string]string{"max_completion_tokens": "max_tokens"},
			adjust: openRouterReasoning}
	case config.TypePerplexity:
		return &quirks{typ: typ, noTools: true, alternate: true,
			drop: func(string) []string { return []string{"tools", "tool_choice", "parallel_tool_calls"} }}
	case config.TypeTogether, config.TypeFireworks:
		return &quirks{typ: typ, completions: true}
	}
	return nil
}

// xaiRejects lists what xAI's reasoning models refuse: the penalties and
// stop on every reasoning model, and reasoning_effort on those whose
// reasoning cannot be tuned (grok-4 and its fast and code variants).
func xaiRejects(model string) []string {
	m := model[strings.LastIndexByte(model, '/')+1:]
	reasoning := strings.HasPrefix(m, "grok-3-mini") || strings.HasPrefix(m, "grok-4") || strings.HasPrefix(m, "grok-code")
	if !reasoning || strings.Contains(m, "non-reasoning") {
		return nil
	}
	drop := []string{"presence_penalty", "frequency_penalty", "stop"}
	if !strings.HasPrefix(m, "grok-3-mini") && (m == "grok-4" || strings.HasPrefix(m, "grok-4-") || strings.HasPrefix(m, "grok-code") || strings.HasPrefix(m, "grok-4.20")) {
		drop = append(drop, "reasoning_effort")
	}
	return drop
}

// openRouterReasoning turns reasoning_effort into OpenRouter's
// reasoning: {effort}, unless the body already has a reasoning object.
func openRouterReasoning(top map[string]json.RawMessage) {
	effort, ok := top["reasoning_effort"]
	if !ok {
		return
	}
	delete(top, "reasoning_effort")
	if _, set := top["reasoning"]; !set {
		top["reasoning"] = json.RawMessage(`{"effort":` + string(effort) + `}`)
	}
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// chatOnly reports whether a legacy text completion must go as chat.
func (q *quirks) chatOnly() bool { return q != nil && !q.completions }

func (q *quirks) changesBody() bool {
	return q != nil && (q.keep != nil || q.rename != nil || q.drop != nil || q.adjust != nil || q.messageKeep != nil ||
		q.dropMessageName || q.shortToolIDs || q.noTools || q.alternate || q.reasoningContent)
}

// affects reports whether the rewrite would change body, from one pass
// over its top-level keys (gjson, no decoding), so the common request to a
// preset whose quirks are only top-level costs next to nothing.
func (q *quirks) affects(body []byte, model string, req *llm.Request) bool {
	if q.messageKeep != nil || q.shortToolIDs || q.alternate || (q.reasoningContent && req != nil) {
		return true // message-level quirks
	}
	if q.dropMessageName && len(gjson.GetBytes(body, "messages.#.name").Array()) > 0 {
		return true
	}
	var drop []string
	if q.drop != nil {
		drop = q.drop(model)
	}
	hit := false
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		key := k.String()
		_, renamed := q.rename[key]
		hit = renamed || slices.Contains(drop, key) || (q.keep != nil && !q.keep[key]) ||
			(q.noTools && key == "tools") || (q.adjust != nil && key == "reasoning_effort")
		return !hit
	})
	return hit
}

// rewrite applies the quirks to a Chat Completions body. req is the
// canonical request when it was decoded (the translated path), else nil.
func (q *quirks) rewrite(body []byte, model string, req *llm.Request) ([]byte, error) {
	if !q.changesBody() || !q.affects(body, model, req) {
		return body, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "request body is not a JSON object", Err: err}
	}
	if q.noTools {
		if t := bytes.TrimSpace(top["tools"]); len(t) > 0 && string(t) != "null" && string(t) != "[]" {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools",
				Message: "model " + model + " (" + q.typ + ") does not support tools"}
		}
	}
	for from, to := range q.rename {
		if v, ok := top[from]; ok {
			if _, taken := top[to]; !taken {
				top[to] = v
			}
			delete(top, from)
		}
	}
	if q.drop != nil {
		for _, k := range q.drop(model) {
			delete(top, k)
		}
	}
	if q.adjust != nil {
		q.adjust(top)
	}
	if q.keep != nil {
		for k := range top {
			if !q.keep[k] {
				delete(top, k)
			}
		}
	}
	if q.dropMessageName || q.messageKeep != nil || q.shortToolIDs || q.alternate || (q.reasoningContent && req != nil) {
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(top["messages"], &msgs); err != nil {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "messages must be an array of objects", Err: err}
		}
		msgs = q.messages(msgs, req)
		m, err := json.Marshal(msgs)
		if err != nil {
			return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode messages", Err: err}
		}
		top["messages"] = m
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode request", Err: err}
	}
	return out, nil
}

// messages applies the per-message quirks.
func (q *quirks) messages(msgs []map[string]json.RawMessage, req *llm.Request) []map[string]json.RawMessage {
	var thinking []string
	if q.reasoningContent && req != nil {
		thinking = toolTurnThinking(req)
	}
	turn := 0
	for _, m := range msgs {
		role := rawString(m["role"])
		if q.dropMessageName || (q.messageKeep != nil && role != "tool") {
			delete(m, "name")
		}
		if q.messageKeep != nil {
			for k := range m {
				if !q.messageKeep[k] {
					delete(m, k)
				}
			}
		}
		if q.shortToolIDs {
			shortenToolIDs(m)
		}
		if role == "assistant" && len(bytes.TrimSpace(m["tool_calls"])) > 2 && thinking != nil {
			if turn < len(thinking) && thinking[turn] != "" {
				if _, ok := m["reasoning_content"]; !ok {
					m["reasoning_content"], _ = json.Marshal(thinking[turn])
				}
			}
			turn++
		}
	}
	if q.alternate {
		msgs = mergeRuns(msgs)
	}
	return msgs
}

// toolTurnThinking returns, for each canonical assistant message that
// calls tools, its thinking text: the encoder writes exactly one
// assistant message with tool_calls for each, in order.
func toolTurnThinking(req *llm.Request) []string {
	out := []string{}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != llm.RoleAssistant {
			continue
		}
		var think strings.Builder
		calls := false
		for _, p := range m.Content {
			switch p.Type {
			case llm.PartThinking:
				think.WriteString(p.Text)
			case llm.PartToolCall:
				calls = calls || p.ToolCall != nil
			}
		}
		if calls {
			out = append(out, think.String())
		}
	}
	return out
}

// shortenToolIDs rewrites the tool call ids of one message.
func shortenToolIDs(m map[string]json.RawMessage) {
	if id, ok := m["tool_call_id"]; ok {
		m["tool_call_id"], _ = json.Marshal(mistralToolID(rawString(id)))
	}
	raw, ok := m["tool_calls"]
	if !ok {
		return
	}
	var calls []map[string]json.RawMessage
	if json.Unmarshal(raw, &calls) != nil {
		return
	}
	for _, c := range calls {
		if id, ok := c["id"]; ok {
			c["id"], _ = json.Marshal(mistralToolID(rawString(id)))
		}
	}
	m["tool_calls"], _ = json.Marshal(calls)
}

// mistralToolID maps a tool call id to the 9 alphanumerics Mistral
// requires. Ids already in that form (Mistral's own) are kept, so a
// conversation that goes back and forth keeps matching ids; others are
// hashed, so a call and its result map to the same id.
func mistralToolID(id string) string {
	if len(id) == 9 && isAlnum(id) {
		return id
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte(id))
	out := make([]byte, 9)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// mergeRuns joins consecutive user (or assistant) messages into one.
func mergeRuns(msgs []map[string]json.RawMessage) []map[string]json.RawMessage {
	out := msgs[:0]
	for _, m := range msgs {
		role := rawString(m["role"])
		if n := len(out); n > 0 && role != "system" && rawString(out[n-1]["role"]) == role {
			out[n-1]["content"] = joinContent(out[n-1]["content"], m["content"])
			continue
		}
		out = append(out, m)
	}
	return out
}

// joinContent concatenates two message contents: strings with a blank
// line between them, otherwise as one array of parts.
func joinContent(a, b json.RawMessage) json.RawMessage {
	var sa, sb string
	if json.Unmarshal(a, &sa) == nil && json.Unmarshal(b, &sb) == nil {
		out, _ := json.Marshal(strings.TrimSpace(sa + "\n\n" + sb))
		return out
	}
	parts := append(contentParts(a), contentParts(b)...)
	out, _ := json.Marshal(parts)
	return out
}

func contentParts(c json.RawMessage) []json.RawMessage {
	var s string
	if json.Unmarshal(c, &s) == nil {
		if s == "" {
			return nil
		}
		p, _ := json.Marshal(map[string]string{"type": "text", "text": s})
		return []json.RawMessage{p}
	}
	var parts []json.RawMessage
	_ = json.Unmarshal(c, &parts)
	return parts
}

func rawString(r json.RawMessage) string {
	var s string
	_ = json.Unmarshal(r, &s)
	return s
}
