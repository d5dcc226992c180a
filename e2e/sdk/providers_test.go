package sdk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// providersConfig routes one public model to each provider type added for
// issue 9, in front of the fakes that speak their wire formats.
const providersConfig = `
retry: {attempts: 1}
providers:
  mistral:    {type: mistral,    base_url: "{{openai}}/v1", api_key: "k-mistral-0123456789"}
  groq:       {type: groq,       base_url: "{{openai}}/v1", api_key: "k-groq-0123456789"}
  deepseek:   {type: deepseek,   base_url: "{{openai}}",    api_key: "k-deepseek-0123456789"}
  xai:        {type: xai,        base_url: "{{openai}}/v1", api_key: "k-xai-0123456789"}
  together:   {type: together,   base_url: "{{openai}}/v1", api_key: "k-together-0123456789"}
  fireworks:  {type: fireworks,  base_url: "{{openai}}/v1", api_key: "k-fireworks-0123456789"}
  openrouter: {type: openrouter, base_url: "{{openai}}/v1", api_key: "k-openrouter-0123456789"}
  perplexity: {type: perplexity, base_url: "{{openai}}",    api_key: "k-perplexity-0123456789"}
  azure:      {type: azure,      base_url: "{{openai}}",    api_key: "k-azure-0123456789", deployments: {gpt-4o-mini: mini-prod}}
  gemini:     {type: gemini,     base_url: "{{google}}/v1beta", api_key: "k-gemini-0123456789"}
  vertex:     {type: vertex,     base_url: "{{google}}", project: proj-1, region: us-east5, token: "ya29.vertex-token"}
  cohere:     {type: cohere,     base_url: "{{cohere}}", api_key: "k-cohere-0123456789"}
  bedrock:    {type: bedrock,    base_url: "{{bedrock}}", region: us-east-1, access_key_id: "` + testupstream.BedrockAccessKeyID + `", secret_access_key: "` + testupstream.BedrockSecretAccessKey + `"}
models:
  mistral:       {provider: mistral,    model: mistral-large-latest}
  groq:          {provider: groq,       model: llama-3.3-70b-versatile}
  deepseek:      {provider: deepseek,   model: deepseek-chat}
  xai:           {provider: xai,        model: grok-4}
  together:      {provider: together,   model: meta-llama/Llama-3.3-70B-Instruct-Turbo}
  fireworks:     {provider: fireworks,  model: accounts/fireworks/models/llama-v3p3-70b-instruct}
  openrouter:    {provider: openrouter, model: anthropic/claude-sonnet-4.5}
  perplexity:    {provider: perplexity, model: sonar}
  azure:         {provider: azure,      model: gpt-4o-mini}
  gemini:        {provider: gemini,     model: gemini-2.5-flash}
  vertex-gemini: {provider: vertex,     model: gemini-2.5-pro}
  vertex-claude: {provider: vertex,     model: claude-sonnet-4-5@20250929}
  bedrock:       {provider: bedrock,    model: us.anthropic.claude-sonnet-4-5-20250929-v1:0}
  cohere:        {provider: cohere,     model: command-a-03-2025}
`

// providerRoute is one public model of providersConfig: its fake, the
// path the upstream call must take, and its credentials header.
type providerRoute struct {
	model      string
	fake       func(g *testgateway.Gateway) *testupstream.Server
	path       string // suffix of the upstream path
	authHeader string
	authValue  string // prefix
	tools      bool
}

func openAIFake(g *testgateway.Gateway) *testupstream.Server  { return g.OpenAI }
func googleFake(g *testgateway.Gateway) *testupstream.Server  { return g.Google }
func bedrockFake(g *testgateway.Gateway) *testupstream.Server { return g.Bedrock }
func cohereFake(g *testgateway.Gateway) *testupstream.Server  { return g.Cohere }

var providerRoutes = []providerRoute{
	{"mistral", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-mistral-", true},
	{"groq", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-groq-", true},
	{"deepseek", openAIFake, "/chat/completions", "Authorization", "Bearer k-deepseek-", true},
	{"xai", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-xai-", true},
	{"together", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-together-", true},
	{"fireworks", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-fireworks-", true},
	{"openrouter", openAIFake, "/v1/chat/completions", "Authorization", "Bearer k-openrouter-", true},
	{"perplexity", openAIFake, "/chat/completions", "Authorization", "Bearer k-perplexity-", false},
	{"azure", openAIFake, "/openai/deployments/mini-prod/chat/completions", "Api-Key", "k-azure-", true},
	{"gemini", googleFake, "/v1beta/models/gemini-2.5-flash:", "X-Goog-Api-Key", "k-gemini-", true},
	{"vertex-gemini", googleFake, "/v1/projects/proj-1/locations/us-east5/publishers/google/models/gemini-2.5-pro:", "Authorization", "Bearer ya29.vertex-token", true},
	{"vertex-claude", googleFake, "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:", "Authorization", "Bearer ya29.vertex-token", true},
	{"bedrock", bedrockFake, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse", "Authorization", "AWS4-HMAC-SHA256 Credential=" + testupstream.BedrockAccessKeyID, true},
	{"cohere", cohereFake, "/v2/chat", "Authorization", "Bearer k-cohere-", true},
}

func (r providerRoute) checkCall(t *testing.T, g *testgateway.Gateway) {
	t.Helper()
	rec := r.fake(g).Last()
	if !strings.Contains(rec.Path, r.path) {
		t.Errorf("upstream path %s, want it to contain %s", rec.Path, r.path)
	}
	if v := rec.Header.Get(r.authHeader); !strings.HasPrefix(v, r.authValue) {
		t.Errorf("%s = %q, want %q…", r.authHeader, v, r.authValue)
	}
	if strings.Contains(string(rec.Body), callerKey) || strings.Contains(rec.Header.Get("Authorization"), callerKey) {
		t.Error("the caller's key reached the upstream")
	}
}

var weatherTool = openai.ChatCompletionToolUnionParam{OfFunction: &openai.ChatCompletionFunctionToolParam{
	Function: openai.FunctionDefinitionParam{Name: "get_weather", Description: openai.String("Weather for a city"),
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}},
}}

// TestProvidersOpenAISDK: every new provider, non-stream and stream, with a
// tool call and usage, through the gateway to the official OpenAI client.
func TestProvidersOpenAISDK(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	for _, r := range providerRoutes {
		for _, stream := range []bool{false, true} {
			name := r.model + map[bool]string{false: "/non-stream", true: "/stream"}[stream]
			t.Run(name, func(t *testing.T) {
				reply := testupstream.Reply{Text: "Checking the weather.", Usage: testupstream.Usage{Input: 9, Output: 10}, UsageOnFinish: r.model == "mistral"}
				params := openai.ChatCompletionNewParams{Model: r.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Weather in Paris?")}}
				if r.tools {
					reply.ToolCalls = []testupstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Args: `{"city":"Paris"}`}}
					params.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
				}
				r.fake(g).Set(reply)
				var msg openai.ChatCompletionMessage
				var finish string
				var usage openai.CompletionUsage
				if stream {
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
					acc, chunks := oaiStream(t, oaiClient(g), params)
					if len(chunks) < 3 {
						t.Fatalf("only %d chunks", len(chunks))
					}
					msg, finish, usage = acc.Choices[0].Message, acc.Choices[0].FinishReason, acc.Usage
				} else {
					c, err := oaiClient(g).Chat.Completions.New(t.Context(), params)
					if err != nil {
						t.Fatal(err)
					}
					msg, finish, usage = c.Choices[0].Message, c.Choices[0].FinishReason, c.Usage
				}
				r.checkCall(t, g)
				assertEq(t, "content", msg.Content, "Checking the weather.")
				assertEq(t, "prompt_tokens", usage.PromptTokens, 9)
				assertEq(t, "completion_tokens", usage.CompletionTokens, 10)
				if !r.tools {
					assertEq(t, "finish_reason", finish, "stop")
					return
				}
				assertEq(t, "finish_reason", finish, "tool_calls")
				if len(msg.ToolCalls) != 1 {
					t.Fatalf("%d tool calls", len(msg.ToolCalls))
				}
				tc := msg.ToolCalls[0]
				assertEq(t, "tool name", tc.Function.Name, "get_weather")
				assertEq(t, "tool arguments", tc.Function.Arguments, `{"city":"Paris"}`)
				if tc.ID == "" {
					t.Error("tool call without id")
				}
			})
		}
	}
}

// TestProvidersAnthropicSDK: the same through the official Anthropic
// client (streaming, accumulated by the SDK).
func TestProvidersAnthropicSDK(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	for _, r := range providerRoutes {
		t.Run(r.model, func(t *testing.T) {
			reply := testupstream.Reply{Text: "Checking the weather.", Usage: testupstream.Usage{Input: 9, Output: 10}, UsageOnFinish: r.model == "mistral"}
			params := anthropic.MessageNewParams{Model: anthropic.Model(r.model), MaxTokens: 500,
				System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}}
			if r.tools {
				reply.ToolCalls = []testupstream.ToolCall{{ID: "toolu_1", Name: "get_weather", Args: `{"city":"Paris"}`}}
				params.Tools = antTools[:1]
			}
			r.fake(g).Set(reply)
			msg, _ := antStream(t, antClient(g), params)
			r.checkCall(t, g)
			var text string
			var calls []anthropic.ToolUseBlock
			for _, b := range msg.Content {
				switch b.Type {
				case "text":
					text += b.Text
				case "tool_use":
					calls = append(calls, b.AsToolUse())
				}
			}
			assertEq(t, "text", text, "Checking the weather.")
			assertEq(t, "input_tokens", msg.Usage.InputTokens, 9)
			assertEq(t, "output_tokens", msg.Usage.OutputTokens, 10)
			if !r.tools {
				assertEq(t, "stop_reason", string(msg.StopReason), "end_turn")
				return
			}
			assertEq(t, "stop_reason", string(msg.StopReason), "tool_use")
			if len(calls) != 1 || calls[0].Name != "get_weather" || string(calls[0].Input) != `{"city":"Paris"}` {
				t.Fatalf("tool calls %+v", calls)
			}
		})
	}
}

// TestProvidersErrors: an upstream 429 reaches the SDK as a 429 with its
// Retry-After, a 400 as a 400, and an upstream 500 as a 502.
func TestProvidersErrors(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	for _, r := range providerRoutes {
		for _, c := range []struct{ status, want int }{{429, 429}, {400, 400}, {500, 502}} {
			t.Run(r.model+"/"+http.StatusText(c.status), func(t *testing.T) {
				r.fake(g).Set(testupstream.Reply{Status: c.status, Header: map[string]string{"Retry-After": "7"}})
				_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: r.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v", err)
				}
				assertEq(t, "status", apiErr.StatusCode, c.want)
				if c.status == 429 {
					assertEq(t, "Retry-After", apiErr.Response.Header.Get("Retry-After"), "7")
				}
			})
		}
	}
}

// TestProvidersModelList: /v1/models carries the catalogue's context
// window, max output, modalities and prices for the new providers' models,
// through the SDK's Models client (the extra fields are in the raw JSON).
func TestProvidersModelList(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	page, err := oaiClient(g).Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"gemini":        `"context_window":1048576,"max_output":65536,"modalities":["text","image","audio","video","pdf"],"pricing":{"currency":"USD","per":"1M tokens","input":0.3,"output":2.5,"cache_read":0.03,"cache_write":0}`,
		"bedrock":       `"context_window":200000,"max_output":64000,"modalities":["text","image","pdf"],"pricing":{"currency":"USD","per":"1M tokens","input":3,"output":15,"cache_read":0.3,"cache_write":3.75}`,
		"vertex-claude": `"context_window":200000,"max_output":64000`,
		"mistral":       `"context_window":131072`,
		"deepseek":      `"pricing":{"currency":"USD","per":"1M tokens","input":0.28,"output":0.42,"cache_read":0.028,"cache_write":0}`,
		"xai":           `"context_window":256000`,
		"fireworks":     `"input":0.9`,
		"groq":          `"input":0.59`,
		"perplexity":    `"context_window":127072`,
		"cohere":        `"context_window":256000`,
	}
	seen := 0
	for _, m := range page.Data {
		if w, ok := want[m.ID]; ok {
			seen++
			if !strings.Contains(m.RawJSON(), w) {
				t.Errorf("%s: %s lacks %s", m.ID, m.RawJSON(), w)
			}
		}
	}
	assertEq(t, "enriched models seen", seen, len(want))
	one, err := oaiClient(g).Models.Get(t.Context(), "gemini")
	if err != nil || !strings.Contains(one.RawJSON(), `"context_window":1048576`) {
		t.Fatalf("GET /v1/models/gemini: %v %s", err, one.RawJSON())
	}
}

// TestProvidersCostRouting: the cost strategy orders targets of different
// providers by the new catalogue prices (Gemini Flash before Claude on
// Bedrock, before GPT-4.1 on Azure).
func TestProvidersCostRouting(t *testing.T) {
	g := testgateway.Start(t, providersConfig+`
  cheapest:
    strategy: cost
    targets:
      - {provider: bedrock, model: us.anthropic.claude-sonnet-4-5-20250929-v1:0}
      - {provider: azure,   model: gpt-4.1}
      - {provider: gemini,  model: gemini-2.5-flash}
`)
	g.Google.Set(testupstream.Reply{Text: "cheap answer"})
	c, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "cheapest",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	assertEq(t, "content", c.Choices[0].Message.Content, "cheap answer")
	assertEq(t, "bedrock calls", g.Bedrock.Posts(), 0)
	assertEq(t, "azure calls", g.OpenAI.Posts(), 0)
	// With Gemini down (500), the next cheapest is Azure's gpt-4.1.
	g.Google.Set(testupstream.Reply{Status: 500})
	g.OpenAI.Set(testupstream.Reply{Text: "azure answer"})
	c, err = oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "cheapest",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	assertEq(t, "content", c.Choices[0].Message.Content, "azure answer")
	assertEq(t, "bedrock calls", g.Bedrock.Posts(), 0)
}

// TestGeminiSignatureRoundTrip: a Gemini answer with thoughts and a signed
// function call reaches the Anthropic SDK as thinking blocks and a
// tool_use; when the SDK sends the conversation back with the tool result,
// Gemini gets its thought signature back on the function call and the
// result as a functionResponse named after the call.
func TestGeminiSignatureRoundTrip(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	g.Google.Set(testupstream.Reply{Thinking: "Need the weather.", Text: "Checking.",
		ToolCalls: []testupstream.ToolCall{{Name: "get_weather", Args: `{"city":"Paris"}`}}})
	params := anthropic.MessageNewParams{Model: "gemini", MaxTokens: 500, Tools: antTools[:1],
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}}
	msg, _ := antStream(t, antClient(g), params)
	var kinds []string
	var callID string
	for _, b := range msg.Content {
		kinds = append(kinds, b.Type)
		if b.Type == "tool_use" {
			callID = b.ID
		}
	}
	assertEq(t, "blocks", strings.Join(kinds, ","), "thinking,text,thinking,tool_use")
	first := gjson.ParseBytes(g.Google.Last().Body)
	assertEq(t, "thinkingBudget", first.Get("generationConfig.thinkingConfig.thinkingBudget").Int(), int64(2048))
	assertEq(t, "includeThoughts", first.Get("generationConfig.thinkingConfig.includeThoughts").Bool(), true)

	g.Google.Set(testupstream.Reply{Text: "It is 18C."})
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(callID, "18C", false)))
	final, _ := antStream(t, antClient(g), params)
	assertEq(t, "answer", final.Content[len(final.Content)-1].Text, "It is 18C.")
	body := gjson.ParseBytes(g.Google.Last().Body)
	model := body.Get(`contents.#(role=="model").parts`)
	assertEq(t, "thought replayed", model.Get(`#(thought==true).text`).String(), "Need the weather.")
	assertEq(t, "signature on the call", model.Get(`#(functionCall.name=="get_weather").thoughtSignature`).String(), "c2lnLWdlbWluaQ==")
	assertEq(t, "function response", body.Get(`contents.2.parts.0.functionResponse.name`).String(), "get_weather")
	assertEq(t, "result", body.Get(`contents.2.parts.0.functionResponse.response.result`).String(), "18C")
}

// TestDeepSeekReasoningRoundTrip: DeepSeek's reasoning_content reaches the
// Anthropic SDK as a thinking block, and goes back to DeepSeek as
// reasoning_content on the assistant turn that called the tool.
func TestDeepSeekReasoningRoundTrip(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	g.OpenAI.Set(testupstream.Reply{Thinking: "Call the tool first.",
		ToolCalls: []testupstream.ToolCall{{ID: "call_00_abc", Name: "get_weather", Args: `{"city":"Paris"}`}}})
	params := anthropic.MessageNewParams{Model: "deepseek", MaxTokens: 500, Tools: antTools[:1],
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}}
	msg, _ := antStream(t, antClient(g), params)
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != "Call the tool first." {
		t.Fatalf("content %+v", msg.Content)
	}
	g.OpenAI.Set(testupstream.Reply{Text: "18C."})
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("call_00_abc", "18C", false)))
	antStream(t, antClient(g), params)
	body := gjson.ParseBytes(g.OpenAI.Last().Body)
	assertEq(t, "reasoning_content", body.Get(`messages.#(role=="assistant").reasoning_content`).String(), "Call the tool first.")
	assertEq(t, "tool result", body.Get(`messages.#(role=="tool").tool_call_id`).String(), "call_00_abc")
}

// TestBedrockReasoningRoundTrip: Bedrock's reasoningContent (with its
// signature) reaches the Anthropic SDK as a signed thinking block and goes
// back as reasoningContent before the toolUse, as Claude on Bedrock
// requires; the thinking budget goes in additionalModelRequestFields.
func TestBedrockReasoningRoundTrip(t *testing.T) {
	g := testgateway.Start(t, providersConfig)
	g.Bedrock.Set(testupstream.Reply{Thinking: "Use the tool.",
		ToolCalls: []testupstream.ToolCall{{ID: "tooluse_1", Name: "get_weather", Args: `{"city":"Paris"}`}}})
	params := anthropic.MessageNewParams{Model: "bedrock", MaxTokens: 4000, Tools: antTools[:1],
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}}
	msg, _ := antStream(t, antClient(g), params)
	if len(msg.Content) != 2 || msg.Content[0].Signature != "sig-1" {
		t.Fatalf("content %+v", msg.Content)
	}
	first := gjson.ParseBytes(g.Bedrock.Last().Body)
	assertEq(t, "budget", first.Get("additionalModelRequestFields.thinking.budget_tokens").Int(), int64(2048))
	g.Bedrock.Set(testupstream.Reply{Text: "18C."})
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("tooluse_1", "18C", false)))
	antStream(t, antClient(g), params)
	body := gjson.ParseBytes(g.Bedrock.Last().Body)
	assertEq(t, "reasoning text", body.Get("messages.1.content.0.reasoningContent.reasoningText.text").String(), "Use the tool.")
	assertEq(t, "signature", body.Get("messages.1.content.0.reasoningContent.reasoningText.signature").String(), "sig-1")
	assertEq(t, "toolUse", body.Get("messages.1.content.1.toolUse.toolUseId").String(), "tooluse_1")
	assertEq(t, "toolResult", body.Get("messages.2.content.0.toolResult.toolUseId").String(), "tooluse_1")
}
