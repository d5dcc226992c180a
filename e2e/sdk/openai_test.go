package sdk_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// oaiTools are the two functions offered in the tool tests.
var oaiTools = []openai.ChatCompletionToolUnionParam{
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Current weather for a city"),
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string"}, "days": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}},
			"required":   []string{"city"},
		},
	}),
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_time",
		Parameters: shared.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"tz": map[string]any{"type": "string"}, "format": map[string]any{"type": "string"}},
		},
	}),
}

// The same tools as an Anthropic and an Ollama upstream must receive them.
const (
	weatherSchema      = `{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"},"days":{"type":"array","items":{"type":"integer"}}},"required":["city"]}`
	timeSchema         = `{"type":"object","properties":{"tz":{"type":"string"},"format":{"type":"string"}}}`
	wantAnthropicTools = `[{"name":"get_weather","description":"Current weather for a city","input_schema":` + weatherSchema + `},{"name":"get_time","input_schema":` + timeSchema + `}]`
	wantOllamaTools    = `[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":` + weatherSchema + `}},{"type":"function","function":{"name":"get_time","parameters":` + timeSchema + `}}]`
)

// oaiStream runs a streaming chat and accumulates it with the SDK's
// ChatCompletionAccumulator.
func oaiStream(t *testing.T, client *openai.Client, params openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletionAccumulator, []openai.ChatCompletionChunk) {
	t.Helper()
	stream := client.Chat.Completions.NewStreaming(t.Context(), params, opts...)
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		chunk := stream.Current()
		chunks = append(chunks, chunk)
		if !acc.AddChunk(chunk) {
			t.Errorf("the accumulator rejected chunk %d: %s", len(chunks)-1, chunk.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return acc, chunks
}

func TestOpenAIChatNonStream(t *testing.T) {
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
		{route: routeGPT, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/v1/chat/completions")
			assertJSONPath(t, rec.Body, "model", `"gpt-4o-mini"`)
			assertJSONPath(t, rec.Body, "messages", `[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello to the whole wide world"}]`)
		}},
		{route: routeClaude, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/v1/messages")
			assertJSONPath(t, rec.Body, "model", `"claude-sonnet-4-5"`)
			assertJSONPath(t, rec.Body, "max_tokens", "64000")
			assertJSONPath(t, rec.Body, "system", `"Be brief."`)
			assertJSONPath(t, rec.Body, "messages", `[{"role":"user","content":[{"type":"text","text":"Say hello to the whole wide world"}]}]`)
			if s := gjson.GetBytes(rec.Body, "stream"); s.Bool() {
				t.Errorf("non-stream request sent upstream with stream=%s", s.Raw)
			}
		}},
		{route: routeLlama, wantText: text, wantIn: 21, wantOut: 8, checkUpstream: func(t *testing.T, rec testupstream.Recorded) {
			assertEq(t, "path", rec.Path, "/api/chat")
			assertJSONPath(t, rec.Body, "model", `"llama3.2"`)
			assertJSONPath(t, rec.Body, "stream", "false")
			assertJSONPath(t, rec.Body, "messages", `[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello to the whole wide world"}]`)
		}},
		// echo answers with the last user message; usage counts words.
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
			c, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model:    tc.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(user)},
			}, option.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			assertGatewayHeaders(t, httpResp.Header, tc.provider, tc.upModel)
			if c.ID == "" {
				t.Error("completion has no id")
			}
			if c.Created <= 0 {
				t.Errorf("created = %d", c.Created)
			}
			assertEq(t, "object", string(c.Object), "chat.completion")
			assertEq(t, "model", c.Model, tc.upModel)
			if len(c.Choices) != 1 {
				t.Fatalf("%d choices, want 1: %s", len(c.Choices), c.RawJSON())
			}
			ch := c.Choices[0]
			assertEq(t, "choice index", ch.Index, 0)
			assertEq(t, "role", string(ch.Message.Role), "assistant")
			assertEq(t, "content", ch.Message.Content, tc.wantText)
			assertEq(t, "finish_reason", ch.FinishReason, "stop")
			assertEq(t, "tool calls", len(ch.Message.ToolCalls), 0)
			assertEq(t, "prompt_tokens", c.Usage.PromptTokens, tc.wantIn)
			assertEq(t, "completion_tokens", c.Usage.CompletionTokens, tc.wantOut)
			assertEq(t, "total_tokens", c.Usage.TotalTokens, tc.wantIn+tc.wantOut)
			if tc.checkUpstream != nil {
				tc.checkUpstream(t, onlyRequest(t, tc.fake(g)))
			}
		})
	}
}

func TestOpenAIChatStream(t *testing.T) {
	const (
		user = "Tell me about the fox"
		text = "The quick brown fox jumps over the lazy dog."
	)
	for _, rt := range allRoutes {
		for _, includeUsage := range []bool{false, true} {
			name := rt.model + "/no_usage"
			if includeUsage {
				name = rt.model + "/include_usage"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				wantText, wantIn, wantOut := text, int64(9), int64(10)
				if rt.fake != nil {
					rt.fake(g).Set(testupstream.Reply{Text: text, Usage: testupstream.Usage{Input: 9, Output: 10}})
				} else {
					wantText, wantIn, wantOut = user, 5, 5
				}
				params := openai.ChatCompletionNewParams{
					Model:    rt.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(user)},
				}
				if includeUsage {
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				}
				acc, chunks := oaiStream(t, oaiClient(g), params)
				if len(chunks) < 2 {
					t.Fatalf("only %d chunks: the answer was not streamed", len(chunks))
				}
				if len(acc.Choices) != 1 {
					t.Fatalf("%d accumulated choices, want 1", len(acc.Choices))
				}
				assertEq(t, "accumulated content", acc.Choices[0].Message.Content, wantText)
				assertEq(t, "finish_reason", acc.Choices[0].FinishReason, "stop")
				assertEq(t, "tool calls", len(acc.Choices[0].Message.ToolCalls), 0)
				for i, c := range chunks {
					assertEq(t, "chunk object", string(c.Object), "chat.completion.chunk")
					if c.ID != chunks[0].ID {
						t.Errorf("chunk %d id %q differs from the first chunk's %q", i, c.ID, chunks[0].ID)
					}
				}

				var usageChunks []int
				for i, c := range chunks {
					if c.JSON.Usage.Valid() {
						usageChunks = append(usageChunks, i)
					}
				}
				if !includeUsage {
					if len(usageChunks) != 0 {
						t.Errorf("caller did not ask for usage but chunks %v carry it: %s", usageChunks, chunks[usageChunks[0]].RawJSON())
					}
					assertEq(t, "accumulated usage", acc.Usage.TotalTokens, 0)
					return
				}
				if len(usageChunks) != 1 || usageChunks[0] != len(chunks)-1 {
					t.Fatalf("usage chunks at %v of %d chunks, want exactly one, the last", usageChunks, len(chunks))
				}
				last := chunks[len(chunks)-1]
				assertEq(t, "usage chunk choices", len(last.Choices), 0)
				assertEq(t, "prompt_tokens", acc.Usage.PromptTokens, wantIn)
				assertEq(t, "completion_tokens", acc.Usage.CompletionTokens, wantOut)
				assertEq(t, "total_tokens", acc.Usage.TotalTokens, wantIn+wantOut)
			})
		}
	}
}

// TestOpenAITools: the upstream calls two tools; the SDK must see both with
// their ids, names and whole arguments, then the tool results of the
// follow-up turn must reach the upstream in its own dialect.
func TestOpenAITools(t *testing.T) {
	const (
		system = "You are a weather bot."
		user   = "Weather and time in Paris?"
		answer = "It is 18C and 14:05 in Paris."
	)
	results := []string{"18C, sunny", "14:05"}
	tests := []struct {
		route
		fixedIDs bool // the upstream's ids reach the caller (Ollama has none)
		// checkFollowUp checks the upstream request of the follow-up turn;
		// ids are the tool call ids the SDK saw.
		checkFollowUp func(t *testing.T, rec testupstream.Recorded, ids []string)
	}{
		{route: routeGPT, fixedIDs: true, checkFollowUp: func(t *testing.T, rec testupstream.Recorded, ids []string) {
			assertEq(t, "path", rec.Path, "/v1/chat/completions")
			msgs := gjson.GetBytes(rec.Body, "messages").Array()
			if len(msgs) != 5 {
				t.Fatalf("upstream got %d messages, want 5: %s", len(msgs), rec.Body)
			}
			assertEq(t, "messages.2.tool_calls.0.id", msgs[2].Get("tool_calls.0.id").String(), ids[0])
			assertEq(t, "messages.2.tool_calls.1.id", msgs[2].Get("tool_calls.1.id").String(), ids[1])
			for i := range 2 {
				m := msgs[3+i]
				assertEq(t, "tool message role", m.Get("role").String(), "tool")
				assertEq(t, "tool_call_id", m.Get("tool_call_id").String(), ids[i])
				assertEq(t, "tool content", m.Get("content").String(), results[i])
			}
		}},
		{route: routeClaude, fixedIDs: true, checkFollowUp: func(t *testing.T, rec testupstream.Recorded, ids []string) {
			assertEq(t, "path", rec.Path, "/v1/messages")
			assertJSONPath(t, rec.Body, "model", `"claude-sonnet-4-5"`)
			assertJSONPath(t, rec.Body, "system", `"You are a weather bot."`)
			assertJSONPath(t, rec.Body, "max_tokens", "64000")
			assertJSONPath(t, rec.Body, "tools", wantAnthropicTools)
			assertJSONPath(t, rec.Body, "messages", `[
				{"role":"user","content":[{"type":"text","text":"Weather and time in Paris?"}]},
				{"role":"assistant","content":[
					{"type":"tool_use","id":"`+ids[0]+`","name":"get_weather","input":`+twoTools[0].Args+`},
					{"type":"tool_use","id":"`+ids[1]+`","name":"get_time","input":`+twoTools[1].Args+`}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"`+ids[0]+`","content":"18C, sunny"},
					{"type":"tool_result","tool_use_id":"`+ids[1]+`","content":"14:05"}]}]`)
		}},
		{route: routeLlama, checkFollowUp: func(t *testing.T, rec testupstream.Recorded, ids []string) {
			assertEq(t, "path", rec.Path, "/api/chat")
			assertJSONPath(t, rec.Body, "model", `"llama3.2"`)
			assertJSONPath(t, rec.Body, "tools", wantOllamaTools)
			assertJSONPath(t, rec.Body, "messages", `[
				{"role":"system","content":"You are a weather bot."},
				{"role":"user","content":"Weather and time in Paris?"},
				{"role":"assistant","content":"","tool_calls":[
					{"function":{"name":"get_weather","arguments":`+twoTools[0].Args+`}},
					{"function":{"name":"get_time","arguments":`+twoTools[1].Args+`}}]},
				{"role":"tool","content":"18C, sunny","tool_name":"get_weather"},
				{"role":"tool","content":"14:05","tool_name":"get_time"}]`)
		}},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			name := tc.model + "/non_stream"
			if stream {
				name = tc.model + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				fake := tc.fake(g)
				fake.Set(testupstream.Reply{ToolCalls: twoTools, InterleaveTools: true})
				client := oaiClient(g)
				params := openai.ChatCompletionNewParams{
					Model:    tc.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(user)},
					Tools:    oaiTools,
				}
				var msg openai.ChatCompletionMessage
				var finish string
				if stream {
					acc, _ := oaiStream(t, client, params)
					if len(acc.Choices) != 1 {
						t.Fatalf("%d accumulated choices, want 1", len(acc.Choices))
					}
					msg, finish = acc.Choices[0].Message, acc.Choices[0].FinishReason
				} else {
					c, err := client.Chat.Completions.New(t.Context(), params)
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					if len(c.Choices) != 1 {
						t.Fatalf("%d choices, want 1", len(c.Choices))
					}
					msg, finish = c.Choices[0].Message, c.Choices[0].FinishReason
				}
				assertEq(t, "finish_reason", finish, "tool_calls")
				assertEq(t, "content", msg.Content, "")
				if len(msg.ToolCalls) != 2 {
					t.Fatalf("SDK sees %d tool calls, want 2: %+v", len(msg.ToolCalls), msg.ToolCalls)
				}
				var ids []string
				for i, call := range msg.ToolCalls {
					want := twoTools[i]
					assertEq(t, "tool call type", call.Type, "function")
					assertEq(t, "tool call name", call.Function.Name, want.Name)
					assertJSONEq(t, "tool call arguments", call.Function.Arguments, want.Args)
					if tc.fixedIDs {
						assertEq(t, "tool call id", call.ID, want.ID)
					} else if call.ID == "" {
						t.Errorf("tool call %d has no id", i)
					}
					ids = append(ids, call.ID)
				}
				if ids[0] == ids[1] {
					t.Errorf("both tool calls have id %q", ids[0])
				}
				if t.Failed() {
					return
				}

				// Follow-up turn with the tool results.
				fake.Set(testupstream.Reply{Text: answer})
				params.Messages = append(params.Messages, msg.ToParam(),
					openai.ToolMessage(results[0], ids[0]), openai.ToolMessage(results[1], ids[1]))
				c, err := client.Chat.Completions.New(t.Context(), params)
				if err != nil {
					t.Fatalf("follow-up: %v", err)
				}
				assertEq(t, "follow-up answer", c.Choices[0].Message.Content, answer)
				reqs := requests(fake)
				if len(reqs) != 2 {
					t.Fatalf("upstream received %d requests, want 2", len(reqs))
				}
				tc.checkFollowUp(t, reqs[1], ids)
			})
		}
	}
}

// TestOpenAIImages: image parts sent as data URLs reach Anthropic as base64
// sources and Ollama as inline images; http URLs reach Anthropic as url
// sources and are refused for Ollama (tidegate never fetches URLs).
func TestOpenAIImages(t *testing.T) {
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	const jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"
	parts := func(urls ...string) []openai.ChatCompletionContentPartUnionParam {
		out := []openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("What is in these pictures?")}
		for _, u := range urls {
			out = append(out, openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: u}))
		}
		return out
	}
	t.Run("claude/data_urls", func(t *testing.T) {
		t.Parallel()
		g := start(t)
		_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    modelClaude,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(parts("data:image/png;base64,"+png, "data:image/jpeg;base64,"+jpeg))},
		})
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		rec := onlyRequest(t, g.Anthropic)
		assertJSONPath(t, rec.Body, "messages", `[{"role":"user","content":[
			{"type":"text","text":"What is in these pictures?"},
			{"type":"image","source":{"type":"base64","media_type":"image/png","data":"`+png+`"}},
			{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"`+jpeg+`"}}]}]`)
	})
	t.Run("claude/http_url", func(t *testing.T) {
		t.Parallel()
		g := start(t)
		_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    modelClaude,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(parts("https://example.com/cat.jpg"))},
		})
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		rec := onlyRequest(t, g.Anthropic)
		assertJSONPath(t, rec.Body, "messages.0.content.1", `{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}`)
	})
	t.Run("llama/data_urls", func(t *testing.T) {
		t.Parallel()
		g := start(t)
		_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    modelLlama,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(parts("data:image/png;base64,"+png, "data:image/jpeg;base64,"+jpeg))},
		})
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		rec := onlyRequest(t, g.Ollama)
		assertJSONPath(t, rec.Body, "messages", `[{"role":"user","content":"What is in these pictures?","images":["`+png+`","`+jpeg+`"]}]`)
	})
	t.Run("llama/http_url_refused", func(t *testing.T) {
		t.Parallel()
		g := start(t)
		_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    modelLlama,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(parts("https://example.com/cat.jpg"))},
		})
		apiErr := asOpenAIError(t, err)
		assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
		assertEq(t, "upstream requests", len(requests(g.Ollama)), 0)
	})
}

func TestOpenAIEmbeddings(t *testing.T) {
	vec := []float32{0.25, -0.5, 0.125, 1}
	want := []float64{0.25, -0.5, 0.125, 1}
	inputs := []string{"alpha", "beta gamma"}
	tests := []struct {
		route
		format openai.EmbeddingNewParamsEncodingFormat
		// wantWire is the first character of each embedding on the wire:
		// '[' for float arrays, '"' for base64 strings. 0: not checked
		// (the fake OpenAI upstream answers floats whatever it is asked).
		wantWire byte
	}{
		{routeGPT, openai.EmbeddingNewParamsEncodingFormatFloat, '['},
		{routeGPT, openai.EmbeddingNewParamsEncodingFormatBase64, 0},
		{routeGPT, "", '['},
		{routeLlama, openai.EmbeddingNewParamsEncodingFormatFloat, '['},
		{routeLlama, openai.EmbeddingNewParamsEncodingFormatBase64, '"'},
		{routeLlama, "", '['},
	}
	for _, tc := range tests {
		name := tc.model + "/" + string(tc.format)
		if tc.format == "" {
			name = tc.model + "/default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			fake := tc.fake(g)
			fake.Set(testupstream.Reply{Embedding: vec})
			var capture bodyCapture
			var httpResp *http.Response
			res, err := oaiClient(g, capture.openai()).Embeddings.New(t.Context(), openai.EmbeddingNewParams{
				Model:          tc.model,
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
				EncodingFormat: tc.format,
			}, option.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatalf("embeddings: %v", err)
			}
			assertEq(t, "x-tidegate-provider", httpResp.Header.Get("x-tidegate-provider"), tc.provider)
			assertEq(t, "x-tidegate-model", httpResp.Header.Get("x-tidegate-model"), tc.upModel)
			assertEq(t, "object", string(res.Object), "list")
			assertEq(t, "model", res.Model, tc.upModel)
			if len(res.Data) != len(inputs) {
				t.Fatalf("%d embeddings, want %d", len(res.Data), len(inputs))
			}
			for i, d := range res.Data {
				assertEq(t, "index", d.Index, int64(i))
				assertEq(t, "object", string(d.Object), "embedding")
				assertDeepEq(t, "embedding", d.Embedding, want)
				if tc.wantWire != 0 {
					if raw := d.JSON.Embedding.Raw(); raw == "" || raw[0] != tc.wantWire {
						t.Errorf("embedding %d on the wire is %.40s…, want it to start with %q", i, raw, tc.wantWire)
					}
				}
			}
			assertEq(t, "usage.prompt_tokens", res.Usage.PromptTokens, int64(len(inputs)))
			assertEq(t, "usage.total_tokens", res.Usage.TotalTokens, int64(len(inputs)))

			rec := onlyRequest(t, fake)
			switch tc.model {
			case modelGPT: // same dialect: the caller's body, model changed
				assertEq(t, "path", rec.Path, "/v1/embeddings")
				wantBody := strings.Replace(string(capture.last(t)), `"model":"gpt"`, `"model":"gpt-4o-mini"`, 1)
				assertEq(t, "upstream body", string(rec.Body), wantBody)
			case modelLlama:
				assertEq(t, "path", rec.Path, "/api/embed")
				assertJSONPath(t, rec.Body, "model", `"llama3.2"`)
				assertJSONPath(t, rec.Body, "input", `["alpha","beta gamma"]`)
			}
		})
	}
}

// TestOpenAIEmbeddingsBase64Wire decodes the base64 the gateway encodes for
// a translated upstream by hand: little-endian float32s.
func TestOpenAIEmbeddingsBase64Wire(t *testing.T) {
	g := start(t)
	g.Ollama.Set(testupstream.Reply{Embedding: []float32{0.25, -0.5}})
	status, _, body := rawPost(t, g.URL+"/v1/embeddings", `{"model":"llama","input":"hi","encoding_format":"base64"}`, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	b64 := gjson.GetBytes(body, "data.0.embedding").String()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("embedding %q is not base64: %v", b64, err)
	}
	// 0.25 and -0.5 as little-endian float32s.
	assertEq(t, "embedding bytes", fmt.Sprintf("% x", raw), "00 00 80 3e 00 00 00 bf")
}

func TestOpenAIModels(t *testing.T) {
	g := start(t)
	client := oaiClient(g)
	page, err := client.Models.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		assertEq(t, m.ID+" object", string(m.Object), "model")
		assertEq(t, m.ID+" owned_by", m.OwnedBy, "tidegate")
		if m.Created <= 0 {
			t.Errorf("%s created = %d", m.ID, m.Created)
		}
	}
	for _, want := range []string{modelGPT, modelClaude, modelLlama, modelEcho, "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"} {
		if !slices.Contains(ids, want) {
			t.Errorf("models list lacks %q: %v", want, ids)
		}
	}
	if !slices.IsSorted(ids) {
		t.Errorf("models list is not sorted: %v", ids)
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("models list has duplicates: %v", ids)
	}

	for _, id := range []string{modelGPT, modelClaude, modelLlama, modelEcho, "anthropic/claude-sonnet-4-5"} {
		m, err := client.Models.Get(t.Context(), id)
		if err != nil {
			t.Errorf("get %s: %v", id, err)
			continue
		}
		assertEq(t, "id", m.ID, id)
		assertEq(t, "object", string(m.Object), "model")
		assertEq(t, "owned_by", m.OwnedBy, "tidegate")
	}
}

func TestOpenAILegacyCompletions(t *testing.T) {
	const (
		prompt = "Once upon a time"
		text   = " there was a gateway."
	)
	tests := []struct {
		route
		check func(t *testing.T, rec testupstream.Recorded, sent []byte)
	}{
		{routeGPT, func(t *testing.T, rec testupstream.Recorded, sent []byte) {
			assertEq(t, "path", rec.Path, "/v1/completions")
			wantBody := strings.Replace(string(sent), `"model":"gpt"`, `"model":"gpt-4o-mini"`, 1)
			assertEq(t, "upstream body", string(rec.Body), wantBody)
		}},
		{routeClaude, func(t *testing.T, rec testupstream.Recorded, _ []byte) {
			assertEq(t, "path", rec.Path, "/v1/messages")
			assertJSONPath(t, rec.Body, "model", `"claude-sonnet-4-5"`)
			assertJSONPath(t, rec.Body, "max_tokens", "20")
			assertJSONPath(t, rec.Body, "messages", `[{"role":"user","content":[{"type":"text","text":"Once upon a time"}]}]`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			fake := tc.fake(g)
			fake.Set(testupstream.Reply{Text: text, Usage: testupstream.Usage{Input: 4, Output: 5}})
			var capture bodyCapture
			var httpResp *http.Response
			c, err := oaiClient(g, capture.openai()).Completions.New(t.Context(), openai.CompletionNewParams{
				Model:     openai.CompletionNewParamsModel(tc.model),
				Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
				MaxTokens: openai.Int(20),
			}, option.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatalf("completion: %v", err)
			}
			assertGatewayHeaders(t, httpResp.Header, tc.provider, tc.upModel)
			assertEq(t, "object", string(c.Object), "text_completion")
			if len(c.Choices) != 1 {
				t.Fatalf("%d choices, want 1: %s", len(c.Choices), c.RawJSON())
			}
			assertEq(t, "text", c.Choices[0].Text, text)
			assertEq(t, "finish_reason", string(c.Choices[0].FinishReason), "stop")
			assertEq(t, "prompt_tokens", c.Usage.PromptTokens, 4)
			assertEq(t, "completion_tokens", c.Usage.CompletionTokens, 5)
			assertEq(t, "total_tokens", c.Usage.TotalTokens, 9)
			tc.check(t, onlyRequest(t, fake), capture.last(t))
		})
	}
}

// asOpenAIError returns err as the OpenAI SDK's error type.
func asOpenAIError(t *testing.T, err error) *openai.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want an *openai.Error")
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v is not an *openai.Error", err, err)
	}
	return apiErr
}
