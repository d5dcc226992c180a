package provider

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/testupstream"
)

const presetKey = "sk-preset-key-0123456789"

// passthroughReq is an OpenAI caller's request forwarded as is.
func passthroughReq(model string, stream bool, body string) *llm.Request {
	return &llm.Request{Model: model, Stream: stream, Source: llm.Source{Dialect: llm.DialectOpenAI, Body: []byte(body)}}
}

// toolConversation is a translated (Anthropic caller) conversation: the
// assistant thought, called a tool, and got its result.
func toolConversation(model string) *llm.Request {
	return &llm.Request{Model: model, MaxTokens: 100, Messages: []llm.Message{
		{Role: llm.RoleUser, Name: "ann", Content: []llm.Part{llm.TextPart("Weather in Paris?")}},
		{Role: llm.RoleAssistant, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "I should call the tool.", Signature: "sig"},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		}},
		{Role: llm.RoleTool, Content: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01A09q90qw90lq917835lq9", Content: []llm.Part{llm.TextPart("18C")}}}}},
		{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("And tomorrow?")}},
	}}
}

// TestPresets sends a request through each OpenAI-compatible preset to a
// fake upstream and checks what arrived: path, headers and the body's
// quirks.
func TestPresets(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	nineAlnum := regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)

	cases := []struct {
		name    string
		typ     string
		headers map[string]string
		req     *llm.Request
		check   func(t *testing.T, rec testupstream.Recorded, body gjson.Result, resp *llm.Response)
	}{
		{
			name: "mistral passthrough drops what Mistral forbids",
			typ:  config.TypeMistral,
			req: passthroughReq("mistral-large-latest", true, `{"model":"x","stream":true,"stream_options":{"include_usage":true},
				"max_completion_tokens":64,"seed":7,"user":"u1","store":false,"temperature":0.2,
				"messages":[{"role":"user","name":"ann","content":"hi"},
				{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_abcdefghijkl","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"call_abcdefghijkl","content":"ok"}]}`),
			check: func(t *testing.T, rec testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				for _, gone := range []string{"stream_options", "max_completion_tokens", "seed", "user", "store", "messages.0.name", "messages.1.refusal"} {
					if body.Get(gone).Exists() {
						t.Errorf("%s sent to Mistral: %s", gone, body.Raw)
					}
				}
				if body.Get("max_tokens").Int() != 64 || body.Get("random_seed").Int() != 7 || body.Get("temperature").Float() != 0.2 {
					t.Errorf("renames/kept fields: %s", body.Raw)
				}
				call, result := body.Get("messages.1.tool_calls.0.id").String(), body.Get("messages.2.tool_call_id").String()
				if !nineAlnum.MatchString(call) || call != result {
					t.Errorf("tool ids %q / %q: want the same 9 alphanumerics", call, result)
				}
			},
		},
		{
			name: "mistral keeps its own tool ids",
			typ:  config.TypeMistral,
			req:  toolConversation("mistral-small-latest"),
			check: func(t *testing.T, _ testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				call := body.Get("messages.1.tool_calls.0.id").String()
				if !nineAlnum.MatchString(call) || body.Get("messages.2.tool_call_id").String() != call {
					t.Errorf("tool ids: %s", body.Get("messages").Raw)
				}
				if mistralToolID("Ab3dE6gH9") != "Ab3dE6gH9" {
					t.Error("a Mistral id was rewritten")
				}
			},
		},
		{
			name: "groq drops message names",
			typ:  config.TypeGroq,
			req:  toolConversation("llama-3.3-70b-versatile"),
			check: func(t *testing.T, _ testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				if strings.Contains(body.Get("messages").Raw, `"name":"ann"`) {
					t.Errorf("name sent to Groq: %s", body.Get("messages").Raw)
				}
				if body.Get("messages.1.tool_calls.0.id").String() != "toolu_01A09q90qw90lq917835lq9" {
					t.Errorf("Groq tool ids must be kept: %s", body.Raw)
				}
			},
		},
		{
			name: "deepseek replays thinking as reasoning_content and returns it as thinking",
			typ:  config.TypeDeepSeek,
			req:  toolConversation("deepseek-reasoner"),
			check: func(t *testing.T, _ testupstream.Recorded, body gjson.Result, resp *llm.Response) {
				if got := body.Get("messages.1.reasoning_content").String(); got != "I should call the tool." {
					t.Errorf("reasoning_content = %q in %s", got, body.Get("messages").Raw)
				}
				if len(resp.Content) == 0 || resp.Content[0].Type != llm.PartThinking || resp.Content[0].Text != "Thinking hard." {
					t.Errorf("response content: %+v", resp.Content)
				}
			},
		},
		{
			name: "xai grok-4 gets no penalties, stop or reasoning_effort",
			typ:  config.TypeXAI,
			req:  passthroughReq("grok-4", false, `{"model":"grok-4","messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5,"frequency_penalty":0.1,"stop":["x"],"reasoning_effort":"high","temperature":1}`),
			check: func(t *testing.T, _ testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				for _, gone := range []string{"presence_penalty", "frequency_penalty", "stop", "reasoning_effort"} {
					if body.Get(gone).Exists() {
						t.Errorf("%s sent to grok-4: %s", gone, body.Raw)
					}
				}
				if body.Get("temperature").Int() != 1 {
					t.Errorf("temperature lost: %s", body.Raw)
				}
			},
		},
		{
			name: "xai grok-3-mini keeps reasoning_effort",
			typ:  config.TypeXAI,
			req:  passthroughReq("grok-3-mini", false, `{"model":"grok-3-mini","messages":[{"role":"user","content":"hi"}],"stop":["x"],"reasoning_effort":"low"}`),
			check: func(t *testing.T, _ testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				if body.Get("stop").Exists() || body.Get("reasoning_effort").String() != "low" {
					t.Errorf("body: %s", body.Raw)
				}
			},
		},
		{
			name:    "openrouter attribution headers (config wins), max_tokens and reasoning",
			typ:     config.TypeOpenRouter,
			headers: map[string]string{"x-title": "my app"},
			req:     passthroughReq("anthropic/claude-sonnet-4.5", false, `{"model":"x","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":300,"reasoning_effort":"high"}`),
			check: func(t *testing.T, rec testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				if rec.Header.Get("HTTP-Referer") != "https://github.com/tidegate/tidegate" || rec.Header.Get("X-Title") != "my app" {
					t.Errorf("headers: %v", rec.Header)
				}
				if body.Get("model").String() != "anthropic/claude-sonnet-4.5" || body.Get("max_tokens").Int() != 300 ||
					body.Get("max_completion_tokens").Exists() || body.Get("reasoning_effort").Exists() || body.Get("reasoning.effort").String() != "high" {
					t.Errorf("OpenRouter body: %s", body.Raw)
				}
			},
		},
		{
			name: "perplexity merges consecutive turns",
			typ:  config.TypePerplexity,
			req: passthroughReq("sonar", false, `{"model":"sonar","messages":[{"role":"system","content":"s"},{"role":"user","content":"a"},
				{"role":"user","content":[{"type":"text","text":"b"}]},{"role":"assistant","content":"c"},{"role":"user","content":"d"},{"role":"user","content":"e"}]}`),
			check: func(t *testing.T, rec testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				if rec.Path != "/chat/completions" {
					t.Errorf("path %s", rec.Path)
				}
				// Messages keep the caller's bytes; merged ones their first member order.
				want := `[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"c"},{"role":"user","content":"d\n\ne"}]`
				if got := body.Get("messages").Raw; got != want {
					t.Errorf("messages:\n got %s\nwant %s", got, want)
				}
			},
		},
		{
			name: "fireworks passes the body through untouched",
			typ:  config.TypeFireworks,
			req:  passthroughReq("accounts/fireworks/models/llama-v3p3-70b-instruct", true, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"top_k":5}`),
			check: func(t *testing.T, rec testupstream.Recorded, body gjson.Result, resp *llm.Response) {
				if rec.Path != "/chat/completions" || body.Get("top_k").Int() != 5 || !body.Get("stream_options.include_usage").Bool() {
					t.Errorf("%s %s", rec.Path, body.Raw)
				}
				if !strings.HasSuffix(resp.Text(), "Hi there.") { // drain joins thinking and text deltas
					t.Errorf("text %q", resp.Text())
				}
			},
		},
		{
			name: "together passes the body through untouched",
			typ:  config.TypeTogether,
			req:  passthroughReq("meta-llama/Llama-3.3-70B-Instruct-Turbo", false, `{"model":"m", "messages":[{"role":"user","name":"ann","content":"hi"}]}`),
			check: func(t *testing.T, rec testupstream.Recorded, body gjson.Result, _ *llm.Response) {
				if body.Raw != `{"model":"meta-llama/Llama-3.3-70B-Instruct-Turbo", "messages":[{"role":"user","name":"ann","content":"hi"}]}` {
					t.Errorf("body: %s", body.Raw)
				}
				if rec.Header.Get("Authorization") != "Bearer "+presetKey {
					t.Errorf("auth: %v", rec.Header)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up.Set(testupstream.Reply{Text: "Hi there.", Thinking: "Thinking hard."})
			p := NewOpenAI(c.typ, config.Provider{Type: c.typ, BaseURL: up.URL, APIKey: presetKey, Headers: c.headers}, catalog.New(catalog.Embedded()))
			s, err := p.Chat(context.Background(), c.req)
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			resp := drain(t, s)
			rec := up.Last()
			if rec.Header.Get("Authorization") != "Bearer "+presetKey {
				t.Errorf("auth header: %q", rec.Header.Get("Authorization"))
			}
			c.check(t, rec, gjson.ParseBytes(rec.Body), resp)
		})
	}
}

// drain reads a stream to its end and returns the response it carried
// (a non-stream answer), or one assembled from the text deltas.
func drain(t *testing.T, s llm.Stream) *llm.Response {
	t.Helper()
	defer s.Close()
	out := &llm.Response{}
	var text strings.Builder
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		switch ev.Type {
		case llm.EventResponse:
			out = ev.Response
		case llm.EventDelta:
			text.WriteString(ev.Text)
		case llm.EventFinish:
			out.StopReason = ev.StopReason
			if ev.Usage != nil {
				out.Usage = *ev.Usage
			}
		case llm.EventUsage:
			out.Usage = *ev.Usage
		}
	}
	if text.Len() > 0 {
		out.Content = append(out.Content, llm.TextPart(text.String()))
	}
	return out
}

func TestPerplexityRefusesTools(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	p := NewOpenAI("pplx", config.Provider{Type: config.TypePerplexity, BaseURL: up.URL, APIKey: presetKey}, catalog.New())
	req := toolConversation("sonar")
	req.Tools = []llm.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object"}`)}}
	_, err := p.Chat(context.Background(), req)
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || e.Param != "tools" || !strings.Contains(e.Message, "does not support tools") {
		t.Fatalf("err = %v", err)
	}
	if up.Posts() != 0 {
		t.Fatal("the request reached the upstream")
	}
}

// TestPresetCompletions: services without /completions get a text
// completion as chat; Together and Fireworks keep the legacy endpoint.
func TestPresetCompletions(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	for typ, path := range map[string]string{config.TypeGroq: "/chat/completions", config.TypeFireworks: "/completions"} {
		p := NewOpenAI(typ, config.Provider{Type: typ, BaseURL: up.URL, APIKey: presetKey}, catalog.New())
		req := &llm.Request{Op: llm.OpCompletion, Model: "m", Prompt: "Once upon", Source: llm.Source{Dialect: llm.DialectOpenAI, Body: []byte(`{"model":"m","prompt":"Once upon"}`)}}
		resp := drain(t, mustChat(t, p, req))
		rec := up.Last()
		if rec.Path != path {
			t.Errorf("%s: path %s, want %s", typ, rec.Path, path)
		}
		if resp.Op != llm.OpCompletion {
			t.Errorf("%s: response op %v", typ, resp.Op)
		}
		if path == "/chat/completions" {
			if got := gjson.GetBytes(rec.Body, "messages.0.content").String(); got != "Once upon" || resp.Text() != "Hello from the upstream." {
				t.Errorf("%s: sent %s, answer %q", typ, rec.Body, resp.Text())
			}
		} else if gjson.GetBytes(rec.Body, "prompt").String() != "Once upon" {
			t.Errorf("%s: sent %s", typ, rec.Body)
		}
	}
}

func mustChat(t *testing.T, p llm.Provider, req *llm.Request) llm.Stream {
	t.Helper()
	s, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	return s
}

// TestPresetRewriteUntouched: a body no quirk applies to is forwarded as
// the same bytes, without decoding.
func TestPresetRewriteUntouched(t *testing.T) {
	body := []byte(`{"model":"grok-4", "messages":[{"role":"user","content":"hi"}],"temperature":1}`)
	for _, typ := range []string{config.TypeXAI, config.TypeGroq, config.TypeOpenRouter, config.TypeTogether, config.TypeDeepSeek} {
		out, err := presetQuirks(typ).rewrite(body, "grok-4", nil)
		if err != nil || &out[0] != &body[0] {
			t.Errorf("%s: body rewritten: %s (%v)", typ, out, err)
		}
	}
}
