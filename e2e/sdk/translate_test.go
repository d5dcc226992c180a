package sdk_test

import (
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestAnthropicImages: base64 image blocks reach OpenAI as data URLs and
// Ollama as inline images.
func TestAnthropicImages(t *testing.T) {
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	tests := []struct {
		route
		path, want string
	}{
		{routeGPT, "messages", `[{"role":"user","content":[
			{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `"}},
			{"type":"text","text":"What is this?"}]}]`},
		{routeLlama, "messages", `[{"role":"user","content":"What is this?","images":["` + png + `"]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			_, err := antClient(g).Messages.New(t.Context(), anthropic.MessageNewParams{
				Model: anthropic.Model(tc.model), MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
					anthropic.NewImageBlockBase64("image/png", png), anthropic.NewTextBlock("What is this?"))},
			})
			if err != nil {
				t.Fatalf("messages: %v", err)
			}
			assertJSONPath(t, onlyRequest(t, tc.fake(g)).Body, tc.path, tc.want)
		})
	}
}

// TestOpenAISystemMessagesAnywhere: system and developer messages, at the
// start and mid-conversation, are lifted into Anthropic's system in order.
func TestOpenAISystemMessagesAnywhere(t *testing.T) {
	g := start(t)
	_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: modelClaude,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a pirate."),
			openai.UserMessage("Hi"),
			openai.AssistantMessage("Arr, hello."),
			openai.DeveloperMessage("Answer in one sentence."),
			openai.UserMessage("Where is the treasure?"),
		},
	})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	rec := onlyRequest(t, g.Anthropic)
	assertJSONPath(t, rec.Body, "system", `[{"type":"text","text":"You are a pirate."},{"type":"text","text":"Answer in one sentence."}]`)
	assertJSONPath(t, rec.Body, "messages", `[
		{"role":"user","content":[{"type":"text","text":"Hi"}]},
		{"role":"assistant","content":[{"type":"text","text":"Arr, hello."}]},
		{"role":"user","content":[{"type":"text","text":"Where is the treasure?"}]}]`)
}

// TestToolChoice: tool_choice and parallel tool calls map between the
// dialects.
func TestToolChoice(t *testing.T) {
	t.Run("openai_sdk_to_claude", func(t *testing.T) {
		tests := []struct {
			name     string
			choice   openai.ChatCompletionToolChoiceOptionUnionParam
			parallel *bool
			want     string
		}{
			{"auto", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}, nil, `{"type":"auto"}`},
			{"required", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}, nil, `{"type":"any"}`},
			{"named", openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_time"}), nil, `{"type":"tool","name":"get_time"}`},
			{"auto_no_parallel", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}, new(false), `{"type":"auto","disable_parallel_tool_use":true}`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				g.Anthropic.Set(testupstream.Reply{ToolCalls: twoTools[:1]})
				params := openai.ChatCompletionNewParams{
					Model:      modelClaude,
					Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather?")},
					Tools:      oaiTools,
					ToolChoice: tc.choice,
				}
				if tc.parallel != nil {
					params.ParallelToolCalls = openai.Bool(*tc.parallel)
				}
				if _, err := oaiClient(g).Chat.Completions.New(t.Context(), params); err != nil {
					t.Fatalf("chat: %v", err)
				}
				assertJSONPath(t, onlyRequest(t, g.Anthropic).Body, "tool_choice", tc.want)
			})
		}
	})
	t.Run("anthropic_sdk_to_gpt", func(t *testing.T) {
		tests := []struct {
			name         string
			choice       anthropic.ToolChoiceUnionParam
			want         string
			wantParallel string // "" when parallel_tool_calls must be absent
		}{
			{"auto", anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{}}, `"auto"`, ""},
			{"any", anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}, `"required"`, ""},
			{"tool", anthropic.ToolChoiceParamOfTool("get_time"), `{"type":"function","function":{"name":"get_time"}}`, ""},
			{"none", anthropic.ToolChoiceUnionParam{OfNone: &anthropic.ToolChoiceNoneParam{}}, `"none"`, ""},
			{"any_no_parallel", anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{DisableParallelToolUse: anthropic.Bool(true)}}, `"required"`, "false"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				if _, err := antClient(g).Messages.New(t.Context(), anthropic.MessageNewParams{
					Model: modelGPT, MaxTokens: 100, Tools: antTools, ToolChoice: tc.choice,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather?"))},
				}); err != nil {
					t.Fatalf("messages: %v", err)
				}
				body := onlyRequest(t, g.OpenAI).Body
				assertJSONPath(t, body, "tool_choice", tc.want)
				if tc.wantParallel != "" {
					assertJSONPath(t, body, "parallel_tool_calls", tc.wantParallel)
				}
			})
		}
	})
}
