package sdk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// antTools are the two tools offered in the Anthropic tool tests (the same
// schemas as oaiTools).
var antTools = []anthropic.ToolUnionParam{
	{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		Description: anthropic.String("Current weather for a city"),
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string"}, "days": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}},
			Required:   []string{"city"},
		},
	}},
	{OfTool: &anthropic.ToolParam{
		Name: "get_time",
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"tz": map[string]any{"type": "string"}, "format": map[string]any{"type": "string"}},
		},
	}},
}

// wantOpenAITools is antTools as an OpenAI upstream must receive them.
const wantOpenAITools = `[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":` + weatherSchema + `}},{"type":"function","function":{"name":"get_time","parameters":` + timeSchema + `}}]`

// antStream runs a streaming Messages request and accumulates it with the
// SDK's Message.Accumulate.
func antStream(t *testing.T, client *anthropic.Client, params anthropic.MessageNewParams, opts ...aoption.RequestOption) (anthropic.Message, []anthropic.MessageStreamEventUnion) {
	t.Helper()
	stream := client.Messages.NewStreaming(t.Context(), params, opts...)
	defer stream.Close()
	var msg anthropic.Message
	var events []anthropic.MessageStreamEventUnion
	for stream.Next() {
		ev := stream.Current()
		events = append(events, ev)
		if err := msg.Accumulate(ev); err != nil {
			t.Errorf("accumulate event %d (%s): %v", len(events)-1, ev.Type, err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return msg, events
}

// openAIText reads an OpenAI message content: a string, or text parts.
func openAIText(m gjson.Result) string {
	c := m.Get("content")
	if c.IsArray() {
		var b strings.Builder
		for _, p := range c.Array() {
			if p.Get("type").String() == "text" {
				b.WriteString(p.Get("text").String())
			}
		}
		return b.String()
	}
	return c.String()
}

func TestAnthropicMessagesNonStream(t *testing.T) {
	const (
		system = "Be brief."
		user   = "Say hello to the whole wide world"
		text   = "Hello, whole wide world!"
	)
	tests := []struct {
		route
		wantText        string
		wantIn, wantOut int64
		checkUpstream   func(t *testing.T, rec testupstream.Recorded)
	}{
		{route: routeClaude, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/v1/messages")
			assertJSONPath(t, rec.Body, "model", `"claude-sonnet-4-5"`)
		}},
		{route: routeGPT, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/v1/chat/completions")
			assertJSONPath(t, rec.Body, "model", `"gpt-4o-mini"`)
			assertJSONPath(t, rec.Body, "max_tokens", "300")
			msgs := gjson.GetBytes(rec.Body, "messages").Array()
			if len(msgs) != 2 {
				t.Fatalf("upstream got %d messages, want 2: %s", len(msgs), rec.Body)
			}
			assertEq(t, "messages.0.role", msgs[0].Get("role").String(), "system")
			assertEq(t, "messages.0 text", openAIText(msgs[0]), system)
			assertEq(t, "messages.1.role", msgs[1].Get("role").String(), "user")
			assertEq(t, "messages.1 text", openAIText(msgs[1]), user)
		}},
		{route: routeLlama, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/api/chat")
			assertJSONPath(t, rec.Body, "model", `"llama3.2"`)
			assertJSONPath(t, rec.Body, "stream", "false")
			assertJSONPath(t, rec.Body, "options.num_predict", "300")
			assertJSONPath(t, rec.Body, "messages", `[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello to the whole wide world"}]`)
		}},
		{route: routeEcho, wantText: user, wantIn: 2 + 7, wantOut: 7},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			if tc.fake != nil {
				tc.fake(g).Set(testupstream.Reply{Text: text, Usage: testupstream.Usage{Input: 21, Output: 8}})
			}
			var httpResp *http.Response
			m, err := antClient(g).Messages.New(t.Context(), anthropic.MessageNewParams{
				Model:     anthropic.Model(tc.model),
				MaxTokens: 300,
				System:    []anthropic.TextBlockParam{{Text: system}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(user))},
			}, aoption.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatalf("messages: %v", err)
			}
			assertGatewayHeaders(t, httpResp.Header, tc.provider, tc.upModel)
			if m.ID == "" {
				t.Error("message has no id")
			}
			assertEq(t, "type", string(m.Type), "message")
			assertEq(t, "role", string(m.Role), "assistant")
			assertEq(t, "model", string(m.Model), tc.upModel)
			if len(m.Content) != 1 {
				t.Fatalf("%d content blocks, want 1: %s", len(m.Content), m.RawJSON())
			}
			assertEq(t, "block type", m.Content[0].Type, "text")
			assertEq(t, "text", m.Content[0].Text, tc.wantText)
			assertEq(t, "stop_reason", m.StopReason, anthropic.StopReasonEndTurn)
			assertEq(t, "input_tokens", m.Usage.InputTokens, tc.wantIn)
			assertEq(t, "output_tokens", m.Usage.OutputTokens, tc.wantOut)
			assertEq(t, "cache_read_input_tokens", m.Usage.CacheReadInputTokens, 0)
			assertEq(t, "cache_creation_input_tokens", m.Usage.CacheCreationInputTokens, 0)
			if tc.checkUpstream != nil {
				tc.checkUpstream(t, onlyRequest(t, tc.fake(g)))
			}
		})
	}
}

// TestAnthropicStreamAccumulate: thinking, text and two tool calls whose
// arguments the upstreams send in fragments are assembled by the SDK's
// accumulator; the thinking signature survives from an Anthropic upstream.
func TestAnthropicStreamAccumulate(t *testing.T) {
	const (
		thinking = "The user wants weather and time, so I call both tools."
		text     = "Let me check both."
	)
	for _, rt := range upstreamRoutes {
		t.Run(rt.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			rt.fake(g).Set(testupstream.Reply{Thinking: thinking, Text: text, ToolCalls: twoTools, InterleaveTools: true,
				Usage: testupstream.Usage{Input: 30, Output: 40}})
			msg, events := antStream(t, antClient(g), anthropic.MessageNewParams{
				Model:     anthropic.Model(rt.model),
				MaxTokens: 4096,
				Thinking:  anthropic.ThinkingConfigParamOfEnabled(2048),
				Tools:     antTools,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather and time in Paris?"))},
			})
			if len(events) == 0 || events[0].Type != "message_start" || events[len(events)-1].Type != "message_stop" {
				var types []string
				for _, e := range events {
					types = append(types, e.Type)
				}
				t.Fatalf("stream does not run message_start … message_stop: %v", types)
			}
			if msg.ID == "" {
				t.Error("message has no id")
			}
			assertEq(t, "model", string(msg.Model), rt.upModel)
			assertEq(t, "stop_reason", msg.StopReason, anthropic.StopReasonToolUse)
			var types []string
			for _, b := range msg.Content {
				types = append(types, b.Type)
			}
			if strings.Join(types, ",") != "thinking,text,tool_use,tool_use" {
				t.Fatalf("content blocks %v, want [thinking text tool_use tool_use]: %s", types, msg.RawJSON())
			}
			assertEq(t, "thinking", msg.Content[0].Thinking, thinking)
			if rt.model == modelClaude {
				assertEq(t, "thinking signature", msg.Content[0].Signature, "sig-1")
			}
			assertEq(t, "text", msg.Content[1].Text, text)
			for i, want := range twoTools {
				b := msg.Content[2+i]
				if rt.model == modelLlama { // Ollama sends no ids; the gateway makes them
					if b.ID == "" || b.ID == msg.Content[2+(1-i)].ID {
						t.Errorf("tool_use %d has id %q, want a unique one", i, b.ID)
					}
				} else {
					assertEq(t, "tool_use id", b.ID, want.ID)
				}
				assertEq(t, "tool_use name", b.Name, want.Name)
				assertJSONEq(t, "tool_use input", string(b.Input), want.Args)
			}
			assertEq(t, "input_tokens", msg.Usage.InputTokens, 30)
			assertEq(t, "output_tokens", msg.Usage.OutputTokens, 40)

			// An Anthropic upstream's fragments reach the caller as they are.
			if rt.model == modelClaude {
				frags := map[int64]int{}
				for _, e := range events {
					if e.Type == "content_block_delta" && e.Delta.Type == "input_json_delta" {
						frags[e.Index]++
					}
				}
				if frags[2] < 2 || frags[3] < 2 {
					t.Errorf("input_json_delta fragments per block = %v, want several for blocks 2 and 3", frags)
				}
			}
		})
	}
}

// TestUsageCacheTokens: Anthropic's input_tokens excludes cache reads and
// writes, OpenAI's prompt_tokens includes them; the gateway converts both
// ways, whole and streamed.
func TestUsageCacheTokens(t *testing.T) {
	type want struct{ in, out, read, write int64 }
	antTests := []struct {
		route
		upstream testupstream.Usage
		want     want
	}{
		// OpenAI prompt_tokens 100 of which 40 cached → 60 uncached.
		{routeGPT, testupstream.Usage{Input: 100, Output: 7, CacheRead: 40}, want{60, 7, 40, 0}},
		// Same dialect: unchanged.
		{routeClaude, testupstream.Usage{Input: 60, Output: 7, CacheRead: 40, CacheWrite: 10}, want{60, 7, 40, 10}},
		{routeLlama, testupstream.Usage{Input: 100, Output: 7}, want{100, 7, 0, 0}},
	}
	for _, tc := range antTests {
		for _, stream := range []bool{false, true} {
			name := "anthropic_sdk/" + tc.model + map[bool]string{false: "/non_stream", true: "/stream"}[stream]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				tc.fake(g).Set(testupstream.Reply{Text: "Cached answer here.", Usage: tc.upstream})
				params := anthropic.MessageNewParams{
					Model:     anthropic.Model(tc.model),
					MaxTokens: 100,
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
				}
				var u anthropic.Usage
				if stream {
					msg, _ := antStream(t, antClient(g), params)
					u = msg.Usage
				} else {
					msg, err := antClient(g).Messages.New(t.Context(), params)
					if err != nil {
						t.Fatalf("messages: %v", err)
					}
					u = msg.Usage
				}
				assertEq(t, "input_tokens", u.InputTokens, tc.want.in)
				assertEq(t, "output_tokens", u.OutputTokens, tc.want.out)
				assertEq(t, "cache_read_input_tokens", u.CacheReadInputTokens, tc.want.read)
				assertEq(t, "cache_creation_input_tokens", u.CacheCreationInputTokens, tc.want.write)
			})
		}
	}

	oaiTests := []struct {
		route
		upstream testupstream.Usage
		want     want // in = prompt_tokens, read = cached_tokens
	}{
		// Anthropic 50 uncached + 40 read + 10 written = 100 prompt tokens.
		{routeClaude, testupstream.Usage{Input: 50, Output: 7, CacheRead: 40, CacheWrite: 10}, want{100, 7, 40, 0}},
		{routeGPT, testupstream.Usage{Input: 100, Output: 7, CacheRead: 40}, want{100, 7, 40, 0}},
	}
	for _, tc := range oaiTests {
		for _, stream := range []bool{false, true} {
			name := "openai_sdk/" + tc.model + map[bool]string{false: "/non_stream", true: "/stream"}[stream]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				tc.fake(g).Set(testupstream.Reply{Text: "Cached answer here.", Usage: tc.upstream})
				params := openai.ChatCompletionNewParams{
					Model:    tc.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
				}
				var u openai.CompletionUsage
				if stream {
					params.StreamOptions.IncludeUsage = openai.Bool(true)
					acc, _ := oaiStream(t, oaiClient(g), params)
					u = acc.Usage
				} else {
					c, err := oaiClient(g).Chat.Completions.New(t.Context(), params)
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					u = c.Usage
				}
				assertEq(t, "prompt_tokens", u.PromptTokens, tc.want.in)
				assertEq(t, "completion_tokens", u.CompletionTokens, tc.want.out)
				assertEq(t, "total_tokens", u.TotalTokens, tc.want.in+tc.want.out)
				assertEq(t, "prompt_tokens_details.cached_tokens", u.PromptTokensDetails.CachedTokens, tc.want.read)
			})
		}
	}
}

// TestAnthropicToolResults: a tool loop from the Anthropic SDK; the tool
// results of the follow-up reach OpenAI as tool messages with
// tool_call_id, and Ollama as tool messages with tool_name.
func TestAnthropicToolResults(t *testing.T) {
	const system = "You are a weather bot."
	results := []string{"18C, sunny", "14:05"}
	tests := []struct {
		route
		check func(t *testing.T, rec testupstream.Recorded, ids []string)
	}{
		{routeGPT, func(t *testing.T, rec testupstream.Recorded, ids []string) {
			assertEq(t, "path", rec.Path, "/v1/chat/completions")
			assertJSONPath(t, rec.Body, "max_tokens", "1024")
			assertJSONPath(t, rec.Body, "tools", wantOpenAITools)
			msgs := gjson.GetBytes(rec.Body, "messages").Array()
			if len(msgs) != 5 {
				t.Fatalf("upstream got %d messages, want 5 (system, user, assistant, tool, tool): %s", len(msgs), rec.Body)
			}
			assertEq(t, "messages.0.role", msgs[0].Get("role").String(), "system")
			assertEq(t, "messages.0 text", openAIText(msgs[0]), system)
			assertEq(t, "messages.1.role", msgs[1].Get("role").String(), "user")
			assertEq(t, "messages.1 text", openAIText(msgs[1]), "Weather and time in Paris?")
			a := msgs[2]
			assertEq(t, "messages.2.role", a.Get("role").String(), "assistant")
			assertEq(t, "messages.2 text", openAIText(a), "Let me check both.")
			calls := a.Get("tool_calls").Array()
			if len(calls) != 2 {
				t.Fatalf("assistant message has %d tool_calls, want 2: %s", len(calls), a.Raw)
			}
			for i, c := range calls {
				assertEq(t, "tool_calls id", c.Get("id").String(), ids[i])
				assertEq(t, "tool_calls type", c.Get("type").String(), "function")
				assertEq(t, "tool_calls name", c.Get("function.name").String(), twoTools[i].Name)
				args := c.Get("function.arguments")
				if args.Type != gjson.String {
					t.Errorf("tool_calls arguments is %s, want a JSON string", args.Raw)
					continue
				}
				assertJSONEq(t, "tool_calls arguments", args.String(), twoTools[i].Args)
			}
			for i := range 2 {
				m := msgs[3+i]
				assertEq(t, "tool message role", m.Get("role").String(), "tool")
				assertEq(t, "tool_call_id", m.Get("tool_call_id").String(), ids[i])
				assertEq(t, "tool message text", openAIText(m), results[i])
			}
		}},
		{routeLlama, func(t *testing.T, rec testupstream.Recorded, _ []string) {
			assertEq(t, "path", rec.Path, "/api/chat")
			assertJSONPath(t, rec.Body, "tools", wantOllamaTools)
			assertJSONPath(t, rec.Body, "messages", `[
				{"role":"system","content":"You are a weather bot."},
				{"role":"user","content":"Weather and time in Paris?"},
				{"role":"assistant","content":"Let me check both.","tool_calls":[
					{"function":{"name":"get_weather","arguments":`+twoTools[0].Args+`}},
					{"function":{"name":"get_time","arguments":`+twoTools[1].Args+`}}]},
				{"role":"tool","content":"18C, sunny","tool_name":"get_weather"},
				{"role":"tool","content":"14:05","tool_name":"get_time"}]`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			fake := tc.fake(g)
			fake.Set(testupstream.Reply{Text: "Let me check both.", ToolCalls: twoTools})
			client := antClient(g)
			params := anthropic.MessageNewParams{
				Model:     anthropic.Model(tc.model),
				MaxTokens: 1024,
				System:    []anthropic.TextBlockParam{{Text: system}},
				Tools:     antTools,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather and time in Paris?"))},
			}
			first, err := client.Messages.New(t.Context(), params)
			if err != nil {
				t.Fatalf("messages: %v", err)
			}
			assertEq(t, "stop_reason", first.StopReason, anthropic.StopReasonToolUse)
			var ids []string
			var resultBlocks []anthropic.ContentBlockParamUnion
			for _, b := range first.Content {
				if b.Type == "tool_use" {
					resultBlocks = append(resultBlocks, anthropic.NewToolResultBlock(b.ID, results[len(ids)], false))
					ids = append(ids, b.ID)
				}
			}
			if len(ids) != 2 {
				t.Fatalf("%d tool_use blocks, want 2: %s", len(ids), first.RawJSON())
			}

			fake.Set(testupstream.Reply{Text: "18C and 14:05."})
			params.Messages = append(params.Messages, first.ToParam(), anthropic.NewUserMessage(resultBlocks...))
			final, err := client.Messages.New(t.Context(), params)
			if err != nil {
				t.Fatalf("follow-up: %v", err)
			}
			if len(final.Content) != 1 || final.Content[0].Text != "18C and 14:05." {
				t.Errorf("follow-up answer: %s", final.RawJSON())
			}
			reqs := requests(fake)
			if len(reqs) != 2 {
				t.Fatalf("upstream received %d requests, want 2", len(reqs))
			}
			tc.check(t, reqs[1], ids)
		})
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	count := func(t *testing.T, client *anthropic.Client, model, text string, opts ...aoption.RequestOption) int64 {
		t.Helper()
		res, err := client.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{
			Model:    anthropic.Model(model),
			System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("You are a weather bot.")},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
		}, opts...)
		if err != nil {
			t.Fatalf("count_tokens: %v", err)
		}
		return res.InputTokens
	}

	t.Run("claude_upstream", func(t *testing.T) {
		t.Parallel()
		g := start(t)
		g.Anthropic.Set(testupstream.Reply{TokenCount: 321})
		var capture bodyCapture
		var httpResp *http.Response
		n := count(t, antClient(g, capture.anthropic()), modelClaude, "How many tokens is this?", aoption.WithResponseInto(&httpResp))
		assertEq(t, "input_tokens", n, 321)
		assertEq(t, "x-tidegate-token-count", httpResp.Header.Get("x-tidegate-token-count"), "upstream")
		rec := onlyRequest(t, g.Anthropic)
		assertEq(t, "path", rec.Path, "/v1/messages/count_tokens")
		assertEq(t, "x-api-key", rec.Header.Get("x-api-key"), testgateway.AnthropicKey)
		assertEq(t, "anthropic-version", rec.Header.Get("anthropic-version"), "2023-06-01")
		wantBody := strings.Replace(string(capture.last(t)), `"model":"claude"`, `"model":"claude-sonnet-4-5"`, 1)
		assertEq(t, "upstream body", string(rec.Body), wantBody)
	})
	for _, rt := range []route{routeGPT, routeLlama, routeEcho} {
		t.Run(rt.model+"_local", func(t *testing.T) {
			t.Parallel()
			g := start(t)
			var httpResp *http.Response
			short := count(t, antClient(g), rt.model, "How many tokens is this?", aoption.WithResponseInto(&httpResp))
			assertEq(t, "x-tidegate-token-count", httpResp.Header.Get("x-tidegate-token-count"), "local")
			if short <= 0 {
				t.Errorf("local count = %d, want > 0", short)
			}
			long := count(t, antClient(g), rt.model, strings.Repeat("How many tokens is this? ", 20))
			if long <= short {
				t.Errorf("a prompt 20 times longer counts %d tokens, the short one %d", long, short)
			}
			if rt.fake != nil {
				if reqs := requests(rt.fake(g)); len(reqs) != 0 {
					t.Errorf("a local count sent %d requests upstream (first: %s %s)", len(reqs), reqs[0].Method, reqs[0].Path)
				}
			}
		})
	}
}

// asAnthropicError returns err as the Anthropic SDK's error type.
func asAnthropicError(t *testing.T, err error) *anthropic.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want an *anthropic.Error")
	}
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v is not an *anthropic.Error", err, err)
	}
	return apiErr
}
