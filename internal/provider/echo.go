package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

// Echo is the built-in model that needs no upstream: it answers with the
// last user text (word by word when streaming), reports usage in words,
// and calls tools deterministically. It makes a fresh install useful at
// once and serves smoke and load tests.
//
// Rules: if tools are offered (and tool_choice is not none) and the last
// message is from the user, it calls the forced tool or the first one, with
// the user text as arguments when that text is a JSON object and
// {"input": text} otherwise. After a tool result it answers
// "tool result: <content>". With reasoning enabled it first emits a short
// thinking block. max_tokens truncates the answer (in words) and stop
// sequences cut it, with the matching stop reasons.
type Echo struct{ name string }

// NewEcho builds the echo provider.
func NewEcho(name string) *Echo { return &Echo{name: name} }

// Name is the configured name.
func (e *Echo) Name() string { return e.name }

// Dialect is empty: echo never passes bytes through.
func (e *Echo) Dialect() llm.Dialect { return "" }

// Chat produces the deterministic answer.
func (e *Echo) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "n", Message: "the echo model returns one choice; n must be 1"}
	}
	resp := e.answer(req)
	if !req.Stream {
		return single(llm.Event{Type: llm.EventResponse, Response: resp}), nil
	}
	return &llm.SliceStream{Events: streamEvents(resp)}, ctx.Err()
}

func (e *Echo) answer(req *llm.Request) *llm.Response {
	resp := &llm.Response{ID: "echo-" + randomHex(12), Model: req.Model, Created: time.Now().Unix(), Op: req.Op, StopReason: llm.StopEndTurn}
	input := countWords(req.Prompt) + countWords(req.SystemText())
	for _, m := range req.Messages {
		if m.Role != llm.RoleSystem {
			input += countWords(messageText(m))
		}
	}
	if req.Reasoning != nil && req.Reasoning.Enabled {
		resp.Content = append(resp.Content, llm.Part{Type: llm.PartThinking, Text: "Echoing the last user message.", Signature: "echo-signature"})
	}
	var last *llm.Message
	if n := len(req.Messages); n > 0 {
		last = &req.Messages[n-1]
	}
	text := req.Prompt
	switch {
	case last != nil && last.Role == llm.RoleTool:
		text = "tool result: " + messageText(*last)
	case last != nil && len(req.Tools) > 0 && (req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceNone):
		tool := req.Tools[0].Name
		if req.ToolChoice != nil && req.ToolChoice.Mode == llm.ToolChoiceTool {
			tool = req.ToolChoice.Name
		}
		userText := messageText(*last)
		args := strings.TrimSpace(userText)
		if !json.Valid([]byte(args)) || !strings.HasPrefix(args, "{") {
			b, _ := json.Marshal(map[string]string{"input": userText})
			args = string(b)
		}
		resp.Content = append(resp.Content, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_" + randomHex(12), Name: tool, Arguments: args}})
		resp.StopReason = llm.StopToolUse
		resp.Usage = llm.Usage{InputTokens: input, OutputTokens: countWords(args)}
		return resp
	case last != nil:
		text = messageText(*last)
	}
	for _, s := range req.Stop {
		if i := strings.Index(text, s); s != "" && i >= 0 {
			text, resp.StopReason, resp.StopSequence = text[:i], llm.StopSequence, s
		}
	}
	words := strings.Fields(text)
	if req.MaxTokens > 0 && len(words) > req.MaxTokens {
		words = words[:req.MaxTokens]
		text = strings.Join(words, " ")
		resp.StopReason, resp.StopSequence = llm.StopMaxTokens, ""
	}
	resp.Content = append(resp.Content, llm.TextPart(text))
	resp.Usage = llm.Usage{InputTokens: input, OutputTokens: len(words)}
	return resp
}

// streamEvents renders a response as canonical stream events, text split
// into words.
func streamEvents(resp *llm.Response) []llm.Event {
	evs := []llm.Event{{Type: llm.EventStart, ID: resp.ID, Model: resp.Model, Usage: &llm.Usage{InputTokens: resp.Usage.InputTokens}}}
	for i, p := range resp.Content {
		p := p
		switch p.Type {
		case llm.PartText:
			evs = append(evs, llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartText}})
			for j, w := range strings.Fields(p.Text) {
				if j > 0 {
					w = " " + w
				}
				evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Text: w})
			}
		case llm.PartThinking:
			evs = append(evs,
				llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartThinking}},
				llm.Event{Type: llm.EventDelta, Index: i, Text: p.Text},
				llm.Event{Type: llm.EventDelta, Index: i, Signature: p.Signature})
		case llm.PartToolCall:
			evs = append(evs,
				llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: p.ToolCall.ID, Name: p.ToolCall.Name}}},
				llm.Event{Type: llm.EventDelta, Index: i, Text: p.ToolCall.Arguments})
		}
		evs = append(evs, llm.Event{Type: llm.EventBlockStop, Index: i})
	}
	usage := resp.Usage
	return append(evs, llm.Event{Type: llm.EventFinish, StopReason: resp.StopReason, StopSequence: resp.StopSequence, Usage: &usage})
}

// Embed returns a deterministic unit vector per input (8 dimensions, or
// the requested number), derived from a hash of the text.
func (e *Echo) Embed(_ context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if len(req.Input) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Message: "input must be a non-empty string or array of strings"}
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = 8
	}
	out := &llm.EmbedResponse{Model: req.Model}
	for _, in := range req.Input {
		vec := make([]float32, dims)
		var norm float64
		for i := range vec {
			h := fnv.New64a()
			h.Write([]byte{byte(i), byte(i >> 8)})
			h.Write([]byte(in))
			v := float64(h.Sum64()%2000)/1000 - 1
			vec[i] = float32(v)
			norm += v * v
		}
		if norm > 0 {
			for i := range vec {
				vec[i] = float32(float64(vec[i]) / math.Sqrt(norm))
			}
		}
		out.Embeddings = append(out.Embeddings, vec)
		out.InputTokens += countWords(in)
	}
	return out, nil
}

func messageText(m llm.Message) string {
	var b strings.Builder
	for _, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			b.WriteString(p.Text)
		case llm.PartToolResult:
			for _, c := range p.ToolResult.Content {
				if c.Type == llm.PartText {
					b.WriteString(c.Text)
				}
			}
		}
	}
	return b.String()
}

func countWords(s string) int { return len(strings.Fields(s)) }

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
