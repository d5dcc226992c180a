package provider

import (
	"crypto/sha256"
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
	// adjust rewrites top-level fields in place (OpenRouter's reasoning)
	// and reports whether it changed any.
	adjust func(top *object) bool
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
func openRouterReasoning(top *object) bool {
	effort, ok := top.lookup("reasoning_effort")
	if !ok {
		return false
	}
	top.remove("reasoning_effort")
	if !top.has("reasoning") {
		top.set("reasoning", `{"effort":`+effort+`}`)
	}
	return true
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

// changesBody reports whether some quirk may change a body; req is as
// for rewrite.
func (q *quirks) changesBody(req *llm.Request) bool {
	return q != nil && (q.keep != nil || q.rename != nil || q.drop != nil || q.adjust != nil || q.noTools || q.editsMessages(req))
}

// editsMessages reports whether some quirk applies to each message.
func (q *quirks) editsMessages(req *llm.Request) bool {
	return q.dropMessageName || q.messageKeep != nil || q.shortToolIDs || q.alternate || (q.reasoningContent && req != nil)
}

// rewrite applies the quirks to a Chat Completions body. req is the
// canonical request when it was decoded (the translated path), else nil.
// It edits members in place of decoding the body: every member and
// message it does not change keeps its bytes, and a body nothing applies
// to is returned as is.
func (q *quirks) rewrite(body []byte, model string, req *llm.Request) ([]byte, error) {
	if !q.changesBody(req) {
		return body, nil
	}
	top, ok := members(make(object, 0, 16), string(body))
	if !ok {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "request body is not a JSON object"}
	}
	if t, ok := top.lookup("tools"); ok && q.noTools && hasItems(t) {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools",
			Message: "model " + model + " (" + q.typ + ") does not support tools"}
	}
	changed := q.editTop(&top, model)
	if q.editsMessages(req) {
		msgs, err := q.messages(top, req)
		if err != nil {
			return nil, err
		}
		if msgs != nil {
			top.setArray("messages", msgs)
			changed = true
		}
	}
	if !changed {
		return body, nil
	}
	return top.appendTo(make([]byte, 0, len(body))), nil
}

// editTop applies the top-level quirks; it reports whether any applied.
func (q *quirks) editTop(top *object, model string) bool {
	changed := false
	for from, to := range q.rename {
		if v, ok := top.lookup(from); ok {
			top.remove(from)
			if !top.has(to) {
				top.set(to, v)
			}
			changed = true
		}
	}
	if q.drop != nil {
		for _, k := range q.drop(model) {
			changed = top.remove(k) || changed
		}
	}
	if q.adjust != nil {
		changed = q.adjust(top) || changed
	}
	if q.keep != nil {
		changed = top.keepOnly(q.keep) || changed
	}
	return changed
}

// messages applies the per-message quirks; it returns the new messages,
// or nil when none changed.
func (q *quirks) messages(top object, req *llm.Request) ([]string, error) {
	raw, _ := top.lookup("messages")
	if raw == "" || raw == "null" {
		return nil, nil // the upstream will say what it thinks
	}
	var thinking []string
	if q.reasoningContent && req != nil {
		thinking = toolTurnThinking(req)
	}
	var out []string
	var m object    // reused for each message
	var text []byte // the same
	var lastRole string
	changed, valid, turn := false, true, 0
	wellFormed := elements(raw, func(msg string) bool {
		if m, valid = members(m[:0], msg); !valid {
			return false
		}
		role := m.str("role")
		edited := q.editMessage(&m, role)
		if calls, _ := m.lookup("tool_calls"); thinking != nil && role == "assistant" && hasItems(calls) {
			if turn < len(thinking) && thinking[turn] != "" && !m.has("reasoning_content") {
				m.set("reasoning_content", quote(thinking[turn]))
				edited = true
			}
			turn++
		}
		if edited {
			text = m.appendTo(text[:0])
			msg = string(text)
		}
		if n := len(out); q.alternate && n > 0 && role != "system" && role == lastRole {
			content, _ := m.lookup("content")
			out[n-1] = mergeInto(out[n-1], content)
			changed = true
			return true
		}
		out, lastRole = append(out, msg), role
		changed = changed || edited
		return true
	})
	if !valid || !wellFormed {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "messages must be an array of objects"}
	}
	if !changed {
		return nil, nil
	}
	return out, nil
}

// editMessage applies the quirks that edit one message by itself; it
// reports whether any applied.
func (q *quirks) editMessage(m *object, role string) bool {
	changed := false
	if q.dropMessageName || (q.messageKeep != nil && role != "tool") {
		changed = m.remove("name")
	}
	if q.messageKeep != nil {
		changed = m.keepOnly(q.messageKeep) || changed
	}
	if q.shortToolIDs {
		changed = shortenToolIDs(m) || changed
	}
	return changed
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

// shortenToolIDs rewrites the tool call ids of one message; it reports
// whether any changed.
func shortenToolIDs(m *object) bool {
	changed := false
	if id, ok := m.lookup("tool_call_id"); ok {
		if short := mistralToolID(m.str("tool_call_id")); id != `"`+short+`"` {
			m.set("tool_call_id", quote(short))
			changed = true
		}
	}
	raw, _ := m.lookup("tool_calls")
	var out []string
	callsChanged, valid := false, true
	var c object
	wellFormed := elements(raw, func(call string) bool {
		if c, valid = members(c[:0], call); !valid {
			return false
		}
		text := call
		if id, ok := c.lookup("id"); ok {
			if short := mistralToolID(c.str("id")); id != `"`+short+`"` {
				c.set("id", quote(short))
				text = string(c.appendTo(make([]byte, 0, len(call)+8)))
				callsChanged = true
			}
		}
		out = append(out, text)
		return true
	})
	if !valid || !wellFormed || !callsChanged {
		return changed
	}
	m.setArray("tool_calls", out)
	return true
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

// mergeInto returns message msg with content appended to its own: the
// alternate quirk's join of consecutive turns of one role.
func mergeInto(msg, content string) string {
	m, _ := members(nil, msg) // a message already read
	own, _ := m.lookup("content")
	m.set("content", joinContent(own, content))
	return string(m.appendTo(nil))
}

// joinContent concatenates two message contents: strings with a blank
// line between them, otherwise as one array of parts.
func joinContent(a, b string) string {
	ra, rb := gjson.Parse(a), gjson.Parse(b)
	if isText(ra) && isText(rb) {
		return quote(strings.TrimSpace(ra.Str + "\n\n" + rb.Str))
	}
	parts := append(contentParts(ra), contentParts(rb)...)
	if len(parts) == 0 {
		return "null"
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// isText reports whether a content is a string; null counts as "".
func isText(c gjson.Result) bool {
	return c.Type == gjson.String || (c.Type == gjson.Null && c.Raw != "")
}

func contentParts(c gjson.Result) []string {
	if c.Type == gjson.String {
		if c.Str == "" {
			return nil
		}
		return []string{`{"type":"text","text":` + quote(c.Str) + `}`}
	}
	var parts []string
	elements(c.Raw, func(p string) bool {
		parts = append(parts, p)
		return true
	})
	return parts
}

// hasItems reports whether a raw JSON value is there and neither null
// nor an empty array.
func hasItems(raw string) bool {
	switch {
	case raw == "" || raw == "null":
		return false
	case raw[0] == '[':
		return raw[skipSpace(raw, 1)] != ']'
	}
	return true
}
