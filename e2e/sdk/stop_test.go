package sdk_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestStopReasonMaxTokens: a cut answer is "length" for OpenAI callers and
// "max_tokens" for Anthropic callers, whatever the upstream's dialect says.
func TestStopReasonMaxTokens(t *testing.T) {
	// The upstream's own word for "out of tokens".
	upstreamStop := map[string]string{modelGPT: "length", modelClaude: "max_tokens", modelLlama: "length"}
	for _, rt := range upstreamRoutes {
		for _, stream := range []bool{false, true} {
			suffix := map[bool]string{false: "/non_stream", true: "/stream"}[stream]
			t.Run("openai_sdk/"+rt.model+suffix, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				rt.fake(g).Set(testupstream.Reply{Text: "cut short", StopReason: upstreamStop[rt.model]})
				params := openai.ChatCompletionNewParams{Model: rt.model, MaxTokens: openai.Int(2),
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a long story")}}
				var finish, text string
				if stream {
					acc, _ := oaiStream(t, oaiClient(g), params)
					finish, text = acc.Choices[0].FinishReason, acc.Choices[0].Message.Content
				} else {
					c, err := oaiClient(g).Chat.Completions.New(t.Context(), params)
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					finish, text = c.Choices[0].FinishReason, c.Choices[0].Message.Content
				}
				assertEq(t, "finish_reason", finish, "length")
				assertEq(t, "content", text, "cut short")
			})
			t.Run("anthropic_sdk/"+rt.model+suffix, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				rt.fake(g).Set(testupstream.Reply{Text: "cut short", StopReason: upstreamStop[rt.model]})
				params := anthropic.MessageNewParams{Model: anthropic.Model(rt.model), MaxTokens: 2,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me a long story"))}}
				var m anthropic.Message
				if stream {
					m, _ = antStream(t, antClient(g), params)
				} else {
					res, err := antClient(g).Messages.New(t.Context(), params)
					if err != nil {
						t.Fatalf("messages: %v", err)
					}
					m = *res
				}
				assertEq(t, "stop_reason", m.StopReason, anthropic.StopReasonMaxTokens)
				if len(m.Content) != 1 || m.Content[0].Text != "cut short" {
					t.Errorf("content: %s", m.RawJSON())
				}
			})
		}
	}
}

// TestOpenAILegacyCompletionsStream: a streamed legacy completion from a
// chat-only upstream arrives as text_completion chunks. (The fake OpenAI
// upstream does not stream /completions, so gpt is not in the table.)
func TestOpenAILegacyCompletionsStream(t *testing.T) {
	for _, rt := range []route{routeClaude, routeEcho} {
		t.Run(rt.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			want := "Once upon a time"
			if rt.fake != nil {
				want = "there was a gateway that spoke two dialects."
				rt.fake(g).Set(testupstream.Reply{Text: want})
			}
			s := oaiClient(g).Completions.NewStreaming(t.Context(), openai.CompletionNewParams{
				Model:     openai.CompletionNewParamsModel(rt.model),
				Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
				MaxTokens: openai.Int(50),
			})
			defer s.Close()
			var text strings.Builder
			var finish string
			var chunks int
			for s.Next() {
				c := s.Current()
				chunks++
				assertEq(t, "object", string(c.Object), "text_completion")
				for _, ch := range c.Choices {
					text.WriteString(ch.Text)
					if ch.FinishReason != "" {
						finish = string(ch.FinishReason)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if chunks < 2 {
				t.Errorf("only %d chunks", chunks)
			}
			assertEq(t, "text", text.String(), want)
			assertEq(t, "finish_reason", finish, "stop")
			if rt.fake != nil {
				rec := onlyRequest(t, rt.fake(g))
				assertJSONPath(t, rec.Body, "stream", "true")
				assertJSONPath(t, rec.Body, "messages", `[{"role":"user","content":[{"type":"text","text":"Once upon a time"}]}]`)
			}
		})
	}
}

// TestEmbeddingsUnsupported: Anthropic offers no embeddings; the caller
// gets a 400 and nothing is sent upstream.
func TestEmbeddingsUnsupported(t *testing.T) {
	g := start(t)
	_, err := oaiClient(g).Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: modelClaude,
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
	apiErr := asOpenAIError(t, err)
	assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
	assertEq(t, "type", apiErr.Type, "invalid_request_error")
	assertEq(t, "upstream requests", len(requests(g.Anthropic)), 0)
}
