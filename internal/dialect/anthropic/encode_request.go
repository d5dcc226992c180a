package anthropic

import (
	"strings"

	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// defaultInputSchema is a tool's input_schema when the canonical tool has
// none (Anthropic requires one).
const defaultInputSchema = `{"type":"object","properties":{}}`

// jsonObjectInstruction is appended to the system prompt for a
// response_format of json_object: Anthropic has no "any JSON object" mode,
// only schema-constrained output (output_config.format), so a short
// instruction is the closest match.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else."

// EncodeMessagesRequest encodes a canonical request as a /v1/messages body
// for model req.Model. info fills and clamps max_tokens and decides whether
// thinking is sent at all.
//
// The mapping, where the dialects differ:
//   - every system message, wherever it is, is lifted into "system" (a
//     string when it is one block without cache_control);
//   - tool results become tool_result blocks at the start of a user turn;
//     consecutive same-role turns merge, since Anthropic wants alternation;
//     empty text blocks and empty turns are dropped;
//   - assistant turns replay thinking first (only blocks with a signature:
//     Anthropic rejects unsigned ones), then text, then tool_use;
//   - thinking is sent only when info.Reasoning: a Budget as budget_tokens,
//     an Effort without budget as a budget (minimal/low 1024, medium 4096,
//     high/xhigh/max 16384), Adaptive as {type: adaptive} with
//     output_config.effort. budget_tokens is kept in [1024, max_tokens):
//     max_tokens is raised by the budget within info.MaxOutput, and when
//     the limit cannot hold both, the answer keeps up to half of it. With thinking on,
//     temperature/top_p/top_k are dropped. Thinking is left off when
//     tool_choice forces a tool (Anthropic refuses the combination) and when
//     the last assistant turn of an ongoing tool loop has tool calls but no
//     signed thinking (Anthropic requires it to start with one);
//   - response_format json_schema becomes output_config.format (GA
//     structured outputs); json_object becomes a system instruction;
//   - temperature is clamped to Anthropic's [0, 1], and top_p is dropped
//     when temperature is set (recent models refuse both); whitespace-only stop
//     sequences (which Anthropic rejects) are dropped; seed and penalties
//     are dropped;
//   - n > 1 is an error.
func EncodeMessagesRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	return encodeRequest(req, info, false)
}

// EncodeCountTokensRequest encodes a /v1/messages/count_tokens body: model,
// system, messages, tools and tool_choice, without max_tokens, stream,
// sampling or thinking.
func EncodeCountTokensRequest(req *llm.Request) ([]byte, error) {
	return encodeRequest(req, llm.ModelInfo{}, true)
}

// RewriteRequest is the same-dialect passthrough: the caller's body with
// only "model" replaced; every other byte is kept. stream is accepted for
// symmetry with the other dialects; an Anthropic body needs no stream edit.
func RewriteRequest(body []byte, model string, stream bool) ([]byte, error) {
	_ = stream
	if !jsonw.IsObject(body) {
		return nil, invalid("", "request body must be a JSON object")
	}
	out, err := sjson.SetBytes(body, "model", model)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "rewriting the request failed", Err: err}
	}
	return out, nil
}

type thinkingMode uint8

const (
	thinkingOff thinkingMode = iota
	thinkingEnabled
	thinkingAdaptive
)

func encodeRequest(req *llm.Request, info llm.ModelInfo, count bool) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "n>1 is not supported by Anthropic models", Param: "n"}
	}
	msgs := req.Messages
	if req.Op == llm.OpCompletion && len(msgs) == 0 && req.Prompt != "" {
		msgs = []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(req.Prompt)}}}
	}

	// max_tokens and thinking.
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = info.MaxOutput
	}
	if maxTokens <= 0 {
		maxTokens = defaultMaxTokens
	}
	if info.MaxOutput > 0 && maxTokens > info.MaxOutput {
		maxTokens = info.MaxOutput
	}
	mode, budget, effort := thinkingOff, 0, ""
	if r := req.Reasoning; !count && info.Reasoning && r != nil && r.Effort != "none" &&
		(r.Enabled || r.Adaptive || r.Budget > 0 || r.Effort != "") {
		switch {
		case r.Adaptive:
			mode, effort = thinkingAdaptive, wireEffort(r.Effort)
		case r.Budget > 0:
			mode, budget = thinkingEnabled, r.Budget
		default:
			mode, budget = thinkingEnabled, effortBudget(r.Effort)
		}
		if forcesTool(req) || unsignedToolLoop(msgs) {
			mode = thinkingOff
		}
	}
	if mode == thinkingEnabled {
		if budget < minThinkingBudget {
			budget = minThinkingBudget
		}
		if budget >= maxTokens {
			// Keep the caller's answer allowance on top of the thinking;
			// when the model's limit cannot hold both, the answer keeps up
			// to half of it.
			answer := maxTokens
			maxTokens += budget
			if info.MaxOutput > 0 && maxTokens > info.MaxOutput {
				maxTokens = info.MaxOutput
			}
			if budget >= maxTokens-answer {
				budget = min(budget, maxTokens-min(answer, maxTokens/2))
			}
			if budget < minThinkingBudget {
				mode, maxTokens = thinkingOff, min(answer, maxTokens)
			}
		}
	}

	var schema []byte
	instruction := ""
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_schema":
			if jsonw.IsObject(rf.Schema) {
				schema = rf.Schema
			} else {
				instruction = jsonObjectInstruction
			}
		case "json_object":
			instruction = jsonObjectInstruction
		}
	}

	b := make([]byte, 0, estimateSize(req, msgs))
	b = append(b, '{')
	b = appendKey(b, "model")
	b = jsonw.AppendString(b, req.Model)
	if !count {
		b = appendKey(b, "max_tokens")
		b = jsonw.AppendInt(b, maxTokens)
	}
	b = appendSystem(b, msgs, instruction)
	var turns int
	b, turns = appendMessages(b, msgs)
	if turns == 0 {
		return nil, invalid("messages", "at least one non-empty message is required")
	}
	if len(req.Tools) > 0 {
		b = appendTools(b, req.Tools)
		b = appendToolChoice(b, req)
	}
	if !count {
		switch mode {
		case thinkingEnabled:
			b = appendKey(b, "thinking")
			b = append(b, `{"type":"enabled","budget_tokens":`...)
			b = jsonw.AppendInt(b, budget)
			b = append(b, '}')
		case thinkingAdaptive:
			b = appendKey(b, "thinking")
			b = append(b, `{"type":"adaptive"}`...)
		}
		if effort != "" || schema != nil {
			b = appendKey(b, "output_config")
			b = append(b, '{')
			if effort != "" {
				b = appendKey(b, "effort")
				b = jsonw.AppendString(b, effort)
			}
			if schema != nil {
				b = appendKey(b, "format")
				b = append(b, `{"type":"json_schema","schema":`...)
				b = jsonw.AppendCompact(b, schema)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		if req.User != "" {
			b = appendKey(b, "metadata")
			b = append(b, `{"user_id":`...)
			b = jsonw.AppendString(b, req.User)
			b = append(b, '}')
		}
		b = appendStops(b, req.Stop)
		if mode == thinkingOff {
			if t := req.Temperature; t != nil {
				b = appendKey(b, "temperature")
				b = jsonw.AppendFloat(b, min(max(*t, 0), 1))
			}
			// Recent models reject temperature and top_p together
			// ("cannot both be specified for this model"): temperature wins.
			if p := req.TopP; p != nil && req.Temperature == nil {
				b = appendKey(b, "top_p")
				b = jsonw.AppendFloat(b, *p)
			}
			if k := req.TopK; k != nil {
				b = appendKey(b, "top_k")
				b = jsonw.AppendInt(b, *k)
			}
		}
		if req.Stream {
			b = appendKey(b, "stream")
			b = append(b, "true"...)
		}
	}
	return append(b, '}'), nil
}

// effortBudget maps a reasoning effort to a thinking budget.
func effortBudget(effort string) int {
	switch effort {
	case "minimal", "low":
		return 1024
	case "high", "xhigh", "max":
		return 16384
	default: // medium, or enabled without a level
		return 4096
	}
}

// wireEffort maps a reasoning effort to output_config.effort; "" for none.
func wireEffort(effort string) string {
	switch effort {
	case "minimal":
		return "low"
	case "low", "medium", "high", "xhigh", "max":
		return effort
	}
	return ""
}

// forcesTool reports whether tool_choice forces tool use, which Anthropic
// does not allow together with thinking.
func forcesTool(req *llm.Request) bool {
	tc := req.ToolChoice
	return len(req.Tools) > 0 && tc != nil && (tc.Mode == llm.ToolChoiceRequired || tc.Mode == llm.ToolChoiceTool)
}

// unsignedToolLoop reports whether the conversation is in a tool loop whose
// assistant turn has tool calls but no signed thinking block (a history from
// another dialect): with thinking on, Anthropic rejects it.
func unsignedToolLoop(msgs []llm.Message) bool {
	last := -1
	for k := len(msgs) - 1; k >= 0; k-- {
		if msgs[k].Role == llm.RoleAssistant && emits(&msgs[k], roleAssistant) {
			last = k
			break
		}
	}
	if last < 0 {
		return false
	}
	results := false
	for k := last + 1; k < len(msgs) && !results; k++ {
		for i := range msgs[k].Content {
			if msgs[k].Content[i].Type == llm.PartToolResult {
				results = true
				break
			}
		}
	}
	if !results {
		return false
	}
	calls := false
	for k := last; k >= 0; k-- {
		m := &msgs[k]
		r := wireRole(m.Role)
		if r == roleNone || !emits(m, r) {
			continue
		}
		if r != roleAssistant {
			break
		}
		for i := range m.Content {
			p := &m.Content[i]
			switch {
			case p.Type == llm.PartToolCall:
				calls = true
			case p.Type == llm.PartThinking && p.Signature != "",
				p.Type == llm.PartRedactedThinking && p.Data != "":
				return false
			}
		}
	}
	return calls
}

// estimateSize guesses the encoded size, to allocate once.
func estimateSize(req *llm.Request, msgs []llm.Message) int {
	n := 512 + len(req.Model)
	for i := range msgs {
		n += 32
		for j := range msgs[i].Content {
			n += partSize(&msgs[i].Content[j])
		}
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		n += 64 + len(t.Name) + len(t.Description) + len(t.Parameters) + len(t.CacheControl)
	}
	return n + n/16 // escapes
}

func partSize(p *llm.Part) int {
	n := 48 + len(p.Text) + len(p.Signature) + len(p.Data) + len(p.CacheControl)
	if p.Image != nil {
		n += len(p.Image.Data) + len(p.Image.URL) + len(p.Image.MediaType)
	}
	if p.ToolCall != nil {
		n += len(p.ToolCall.ID) + len(p.ToolCall.Name) + len(p.ToolCall.Arguments)
	}
	if p.ToolResult != nil {
		n += len(p.ToolResult.CallID)
		for i := range p.ToolResult.Content {
			n += partSize(&p.ToolResult.Content[i])
		}
	}
	return n
}

// appendSystem writes "system" from every system message plus an optional
// extra instruction: a string for one plain block, else text blocks.
func appendSystem(b []byte, msgs []llm.Message, extra string) []byte {
	n, cached, only := 0, false, extra
	for i := range msgs {
		if msgs[i].Role != llm.RoleSystem {
			continue
		}
		for j := range msgs[i].Content {
			p := &msgs[i].Content[j]
			if p.Type == llm.PartText && p.Text != "" {
				n++
				only = p.Text
				cached = cached || jsonw.IsObject(p.CacheControl)
			}
		}
	}
	if extra != "" {
		n++
	}
	if n == 0 {
		return b
	}
	b = appendKey(b, "system")
	if n == 1 && !cached {
		return jsonw.AppendString(b, only)
	}
	b = append(b, '[')
	for i := range msgs {
		if msgs[i].Role != llm.RoleSystem {
			continue
		}
		for j := range msgs[i].Content {
			p := &msgs[i].Content[j]
			if p.Type == llm.PartText && p.Text != "" {
				b = appendComma(b)
				b = appendTextBlock(b, p.Text, p.CacheControl)
			}
		}
	}
	if extra != "" {
		b = appendComma(b)
		b = appendTextBlock(b, extra, nil)
	}
	return append(b, ']')
}

type wire uint8

const (
	roleNone wire = iota
	roleUser
	roleAssistant
)

// wireRole is the Anthropic turn a canonical message belongs to; system
// messages belong to none (they are lifted).
func wireRole(r llm.Role) wire {
	switch r {
	case llm.RoleSystem:
		return roleNone
	case llm.RoleAssistant:
		return roleAssistant
	default: // user, tool, and anything unknown
		return roleUser
	}
}

// userPart reports whether p is written in a user turn.
func userPart(p *llm.Part) bool {
	switch p.Type {
	case llm.PartText:
		return p.Text != ""
	case llm.PartImage:
		_, _, _, ok := imageSource(p.Image)
		return ok
	case llm.PartToolResult:
		return p.ToolResult != nil
	}
	return false
}

// assistantPart reports whether p is written in an assistant turn.
func assistantPart(p *llm.Part) bool {
	switch p.Type {
	case llm.PartText:
		return p.Text != ""
	case llm.PartThinking:
		return p.Signature != ""
	case llm.PartRedactedThinking:
		return p.Data != ""
	case llm.PartToolCall:
		return p.ToolCall != nil
	}
	return false
}

// emits reports whether m writes at least one block in turn role r.
func emits(m *llm.Message, r wire) bool {
	for i := range m.Content {
		if r == roleUser && userPart(&m.Content[i]) || r == roleAssistant && assistantPart(&m.Content[i]) {
			return true
		}
	}
	return false
}

// appendMessages writes "messages": runs of messages of the same turn role
// (skipping system and empty messages) become one turn.
func appendMessages(b []byte, msgs []llm.Message) ([]byte, int) {
	b = appendKey(b, "messages")
	b = append(b, '[')
	turns := 0
	for i := 0; i < len(msgs); {
		r := wireRole(msgs[i].Role)
		if r == roleNone || !emits(&msgs[i], r) {
			i++
			continue
		}
		j := i + 1
		for j < len(msgs) {
			rj := wireRole(msgs[j].Role)
			if rj != roleNone && emits(&msgs[j], rj) && rj != r {
				break
			}
			j++
		}
		b = appendComma(b)
		if r == roleUser {
			b = append(b, `{"role":"user","content":[`...)
			b = appendUserTurn(b, msgs[i:j])
		} else {
			b = append(b, `{"role":"assistant","content":[`...)
			b = appendAssistantTurn(b, msgs[i:j])
		}
		b = append(b, ']', '}')
		turns++
		i = j
	}
	return append(b, ']'), turns
}

// appendUserTurn writes tool results first (Anthropic requires them at the
// start of the turn), then text and images, in order.
func appendUserTurn(b []byte, msgs []llm.Message) []byte {
	for pass := 0; pass < 2; pass++ {
		for i := range msgs {
			if wireRole(msgs[i].Role) != roleUser {
				continue
			}
			for j := range msgs[i].Content {
				p := &msgs[i].Content[j]
				if !userPart(p) || (p.Type == llm.PartToolResult) != (pass == 0) {
					continue
				}
				b = appendComma(b)
				switch p.Type {
				case llm.PartToolResult:
					b = appendToolResult(b, p)
				case llm.PartText:
					b = appendTextBlock(b, p.Text, p.CacheControl)
				case llm.PartImage:
					b = appendImage(b, p)
				}
			}
		}
	}
	return b
}

// appendAssistantTurn writes thinking, then text, then tool calls.
func appendAssistantTurn(b []byte, msgs []llm.Message) []byte {
	for pass := 0; pass < 3; pass++ {
		for i := range msgs {
			if wireRole(msgs[i].Role) != roleAssistant {
				continue
			}
			for j := range msgs[i].Content {
				p := &msgs[i].Content[j]
				if !assistantPart(p) {
					continue
				}
				switch {
				case pass == 0 && p.Type == llm.PartThinking:
					b = appendComma(b)
					b = appendThinking(b, p.Text, p.Signature)
				case pass == 0 && p.Type == llm.PartRedactedThinking:
					b = appendComma(b)
					b = appendRedacted(b, p.Data)
				case pass == 1 && p.Type == llm.PartText:
					b = appendComma(b)
					b = appendTextBlock(b, p.Text, p.CacheControl)
				case pass == 2 && p.Type == llm.PartToolCall:
					b = appendComma(b)
					b = appendToolUse(b, p.ToolCall.ID, p.ToolCall.Name, p.ToolCall.Arguments, p.CacheControl)
				}
			}
		}
	}
	return b
}

func appendCacheControl(b []byte, cc []byte) []byte {
	if len(cc) > 0 && jsonw.IsObject(cc) {
		b = appendKey(b, "cache_control")
		b = jsonw.AppendCompact(b, cc)
	}
	return b
}

func appendTextBlock(b []byte, text string, cc []byte) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = jsonw.AppendString(b, text)
	b = appendCacheControl(b, cc)
	return append(b, '}')
}

func appendThinking(b []byte, text, sig string) []byte {
	b = append(b, `{"type":"thinking","thinking":`...)
	b = jsonw.AppendString(b, text)
	b = append(b, `,"signature":`...)
	b = jsonw.AppendString(b, sig)
	return append(b, '}')
}

func appendRedacted(b []byte, data string) []byte {
	b = append(b, `{"type":"redacted_thinking","data":`...)
	b = jsonw.AppendString(b, data)
	return append(b, '}')
}

// appendToolUse writes a tool_use block; arguments that are not a JSON
// object become {}.
func appendToolUse(b []byte, id, name, args string, cc []byte) []byte {
	b = append(b, `{"type":"tool_use","id":`...)
	b = appendToolID(b, id)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, name)
	b = append(b, `,"input":`...)
	if jsonw.IsObjectString(args) {
		b = jsonw.AppendCompact(b, args)
	} else {
		b = append(b, "{}"...)
	}
	b = appendCacheControl(b, cc)
	return append(b, '}')
}

// appendToolID writes a tool call id, replacing every character outside
// Anthropic's [a-zA-Z0-9_-] with '_' (ids from other upstreams may carry
// others). The mapping is the same for tool_use and tool_result, so pairs
// still match.
func appendToolID(b []byte, id string) []byte {
	b = append(b, '"')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return append(b, '"')
}

func appendToolResult(b []byte, p *llm.Part) []byte {
	r := p.ToolResult
	b = append(b, `{"type":"tool_result","tool_use_id":`...)
	b = appendToolID(b, r.CallID)
	n, plain := 0, true
	for i := range r.Content {
		if q := &r.Content[i]; userPart(q) && q.Type != llm.PartToolResult {
			n++
			plain = plain && q.Type == llm.PartText && len(q.CacheControl) == 0
		}
	}
	if n == 1 && plain {
		for i := range r.Content {
			if q := &r.Content[i]; q.Type == llm.PartText && q.Text != "" {
				b = append(b, `,"content":`...)
				b = jsonw.AppendString(b, q.Text)
				break
			}
		}
	} else if n > 0 {
		b = append(b, `,"content":[`...)
		for i := range r.Content {
			q := &r.Content[i]
			if !userPart(q) || q.Type == llm.PartToolResult {
				continue
			}
			b = appendComma(b)
			if q.Type == llm.PartText {
				b = appendTextBlock(b, q.Text, q.CacheControl)
			} else {
				b = appendImage(b, q)
			}
		}
		b = append(b, ']')
	}
	if r.IsError {
		b = append(b, `,"is_error":true`...)
	}
	b = appendCacheControl(b, p.CacheControl)
	return append(b, '}')
}

const (
	srcBase64 = iota + 1
	srcURL
)

// imageSource says how an image is sent: inline base64 (a data: URL counts)
// or by URL.
func imageSource(img *llm.Image) (kind int, mediaType, data string, ok bool) {
	switch {
	case img == nil:
		return 0, "", "", false
	case img.Data != "":
		mt := img.MediaType
		if mt == "" {
			mt = sniffMediaType(img.Data)
		}
		return srcBase64, mt, img.Data, true
	case strings.HasPrefix(img.URL, "data:"):
		meta, payload, found := strings.Cut(img.URL[len("data:"):], ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !found || !isB64 || payload == "" {
			return 0, "", "", false
		}
		if mt == "" {
			mt = sniffMediaType(payload)
		}
		return srcBase64, mt, payload, true
	case img.URL != "":
		return srcURL, "", img.URL, true
	}
	return 0, "", "", false
}

// sniffMediaType guesses an image type from the start of its base64 data.
func sniffMediaType(b64 string) string {
	switch {
	case strings.HasPrefix(b64, "/9j/"):
		return "image/jpeg"
	case strings.HasPrefix(b64, "R0lGOD"):
		return "image/gif"
	case strings.HasPrefix(b64, "UklGR"):
		return "image/webp"
	default:
		return "image/png"
	}
}

func appendImage(b []byte, p *llm.Part) []byte {
	kind, mt, data, _ := imageSource(p.Image)
	if kind == srcBase64 {
		b = append(b, `{"type":"image","source":{"type":"base64","media_type":`...)
		b = jsonw.AppendString(b, mt)
		b = append(b, `,"data":`...)
	} else {
		b = append(b, `{"type":"image","source":{"type":"url","url":`...)
	}
	b = jsonw.AppendString(b, data)
	b = append(b, '}')
	b = appendCacheControl(b, p.CacheControl)
	return append(b, '}')
}

func appendTools(b []byte, tools []llm.Tool) []byte {
	b = appendKey(b, "tools")
	b = append(b, '[')
	for i := range tools {
		t := &tools[i]
		b = appendComma(b)
		b = append(b, `{"name":`...)
		b = jsonw.AppendString(b, t.Name)
		if t.Description != "" {
			b = append(b, `,"description":`...)
			b = jsonw.AppendString(b, t.Description)
		}
		b = append(b, `,"input_schema":`...)
		if jsonw.IsObject(t.Parameters) {
			b = jsonw.AppendCompact(b, t.Parameters)
		} else {
			b = append(b, defaultInputSchema...)
		}
		if t.Strict != nil && *t.Strict {
			b = append(b, `,"strict":true`...)
		}
		b = appendCacheControl(b, t.CacheControl)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendToolChoice(b []byte, req *llm.Request) []byte {
	mode, name, noParallel := "", "", false
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case llm.ToolChoiceAuto:
			mode = "auto"
		case llm.ToolChoiceNone:
			mode = "none"
		case llm.ToolChoiceRequired:
			mode = "any"
		case llm.ToolChoiceTool:
			mode, name = "tool", tc.Name
			if name == "" {
				mode = "any"
			}
		}
		noParallel = tc.DisableParallel
	}
	if p := req.ParallelToolCalls; p != nil && !*p {
		noParallel = true
	}
	if mode == "" && noParallel {
		mode = "auto"
	}
	if mode == "" {
		return b
	}
	b = appendKey(b, "tool_choice")
	b = append(b, `{"type":"`...)
	b = append(b, mode...)
	b = append(b, '"')
	if name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, name)
	}
	if noParallel && mode != "none" {
		b = append(b, `,"disable_parallel_tool_use":true`...)
	}
	return append(b, '}')
}

func appendStops(b []byte, stops []string) []byte {
	first := true
	for _, s := range stops {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if first {
			b = appendKey(b, "stop_sequences")
			b = append(b, '[')
			first = false
		} else {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, s)
	}
	if !first {
		b = append(b, ']')
	}
	return b
}
