package sdk_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestErrorsUnknownModelOpenAI: every OpenAI route answers an unknown model
// with a 404 the SDK surfaces as *openai.Error.
func TestErrorsUnknownModelOpenAI(t *testing.T) {
	const model = "no-such-model"
	g := start(t)
	client := oaiClient(g)
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
	calls := []struct {
		name string
		call func() error
	}{
		{"chat", func() error {
			_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: model, Messages: msgs})
			return err
		}},
		{"chat_stream", func() error {
			s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: model, Messages: msgs})
			defer s.Close()
			for s.Next() {
				t.Errorf("unexpected chunk: %s", s.Current().RawJSON())
			}
			return s.Err()
		}},
		{"completions", func() error {
			_, err := client.Completions.New(t.Context(), openai.CompletionNewParams{Model: model,
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("hi")}})
			return err
		}},
		{"embeddings", func() error {
			_, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: model,
				Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
			return err
		}},
		{"models_get", func() error {
			_, err := client.Models.Get(t.Context(), model)
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			apiErr := asOpenAIError(t, c.call())
			assertEq(t, "status", apiErr.StatusCode, http.StatusNotFound)
			assertEq(t, "type", apiErr.Type, "not_found_error")
			assertEq(t, "param", apiErr.Param, "model")
			assertEq(t, "code", apiErr.Code, "model_not_found")
			if !strings.Contains(apiErr.Message, `"`+model+`"`) {
				t.Errorf("message %q does not name the model", apiErr.Message)
			}
		})
	}
	for _, s := range []*testupstream.Server{g.OpenAI, g.Anthropic, g.Ollama} {
		if n := len(requests(s)); n != 0 {
			t.Errorf("an unknown model reached an upstream (%d requests)", n)
		}
	}
}

// TestErrorsUnknownModelAnthropic: the same in the Anthropic dialect.
func TestErrorsUnknownModelAnthropic(t *testing.T) {
	const model = "no-such-model"
	g := start(t)
	client := antClient(g)
	msgs := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}
	calls := []struct {
		name string
		call func() error
	}{
		{"messages", func() error {
			_, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: model, MaxTokens: 10, Messages: msgs})
			return err
		}},
		{"messages_stream", func() error {
			s := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: model, MaxTokens: 10, Messages: msgs})
			defer s.Close()
			for s.Next() {
				t.Errorf("unexpected event: %s", s.Current().RawJSON())
			}
			return s.Err()
		}},
		{"count_tokens", func() error {
			_, err := client.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{Model: model, Messages: msgs})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			apiErr := asAnthropicError(t, c.call())
			assertEq(t, "status", apiErr.StatusCode, http.StatusNotFound)
			assertEq(t, "error type", string(apiErr.Type()), "not_found_error")
			assertEq(t, "type", gjson.Get(apiErr.RawJSON(), "type").String(), "error")
			if msg := gjson.Get(apiErr.RawJSON(), "error.message").String(); !strings.Contains(msg, `"`+model+`"`) {
				t.Errorf("message %q does not name the model", msg)
			}
		})
	}
}

// TestErrorsUpstream400: an upstream's 4xx reaches the caller with its
// status and message; on the same-dialect path the body is relayed as is.
func TestErrorsUpstream400(t *testing.T) {
	const (
		oaiMsg  = "max_tokens is too large: 999999. This model supports at most 16384 completion tokens."
		oaiBody = `{"error":{"message":"` + oaiMsg + `","type":"invalid_request_error","param":"max_tokens","code":"invalid_value"}}`
		antMsg  = "max_tokens: 999999 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5"
		antBody = `{"type":"error","error":{"type":"invalid_request_error","message":"` + antMsg + `"},"request_id":"req_011CUpstreamXYZ"}`
	)

	t.Run("openai_sdk/gpt", func(t *testing.T) {
		for _, stream := range []bool{false, true} {
			g := start(t)
			g.OpenAI.Set(testupstream.Reply{Status: 400, ErrorBody: oaiBody})
			params := openai.ChatCompletionNewParams{Model: modelGPT, MaxTokens: openai.Int(999999),
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var err error
			if stream {
				s := oaiClient(g).Chat.Completions.NewStreaming(t.Context(), params)
				for s.Next() {
				}
				err = s.Err()
				s.Close()
			} else {
				_, err = oaiClient(g).Chat.Completions.New(t.Context(), params)
			}
			apiErr := asOpenAIError(t, err)
			assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
			assertEq(t, "message", apiErr.Message, oaiMsg)
			assertEq(t, "type", apiErr.Type, "invalid_request_error")
			assertEq(t, "param", apiErr.Param, "max_tokens")
			assertEq(t, "code", apiErr.Code, "invalid_value")
		}
		// Raw: the upstream's body byte for byte.
		g := start(t)
		g.OpenAI.Set(testupstream.Reply{Status: 400, ErrorBody: oaiBody})
		status, _, body := rawPost(t, g.URL+"/v1/chat/completions", `{"model":"gpt","max_tokens":999999,"messages":[{"role":"user","content":"hi"}]}`, nil)
		assertEq(t, "raw status", status, http.StatusBadRequest)
		assertEq(t, "raw body", string(body), oaiBody)
	})

	t.Run("anthropic_sdk/claude", func(t *testing.T) {
		for _, stream := range []bool{false, true} {
			g := start(t)
			g.Anthropic.Set(testupstream.Reply{Status: 400, ErrorBody: antBody})
			params := anthropic.MessageNewParams{Model: modelClaude, MaxTokens: 8192,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
			var err error
			if stream {
				s := antClient(g).Messages.NewStreaming(t.Context(), params)
				for s.Next() {
				}
				err = s.Err()
				s.Close()
			} else {
				_, err = antClient(g).Messages.New(t.Context(), params)
			}
			apiErr := asAnthropicError(t, err)
			assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
			assertEq(t, "error type", string(apiErr.Type()), "invalid_request_error")
			assertEq(t, "message", gjson.Get(apiErr.RawJSON(), "error.message").String(), antMsg)
			assertEq(t, "request_id", gjson.Get(apiErr.RawJSON(), "request_id").String(), "req_011CUpstreamXYZ")
		}
		g := start(t)
		g.Anthropic.Set(testupstream.Reply{Status: 400, ErrorBody: antBody})
		status, _, body := rawPost(t, g.URL+"/v1/messages", `{"model":"claude","max_tokens":999999,"messages":[{"role":"user","content":"hi"}]}`, nil)
		assertEq(t, "raw status", status, http.StatusBadRequest)
		assertEq(t, "raw body", string(body), antBody)
	})

	// Across dialects the status and message survive, in the caller's form.
	t.Run("openai_sdk/claude", func(t *testing.T) {
		g := start(t)
		g.Anthropic.Set(testupstream.Reply{Status: 400, ErrorBody: antBody})
		_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: modelClaude,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		apiErr := asOpenAIError(t, err)
		assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
		assertEq(t, "message", apiErr.Message, antMsg)
		assertEq(t, "type", apiErr.Type, "invalid_request_error")
	})
	t.Run("anthropic_sdk/gpt", func(t *testing.T) {
		g := start(t)
		g.OpenAI.Set(testupstream.Reply{Status: 400, ErrorBody: oaiBody})
		_, err := antClient(g).Messages.New(t.Context(), anthropic.MessageNewParams{Model: modelGPT, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
		apiErr := asAnthropicError(t, err)
		assertEq(t, "status", apiErr.StatusCode, http.StatusBadRequest)
		assertEq(t, "error type", string(apiErr.Type()), "invalid_request_error")
		assertEq(t, "message", gjson.Get(apiErr.RawJSON(), "error.message").String(), oaiMsg)
	})
}

// TestErrorsUpstreamAuth: an upstream 401 (the gateway's own key was
// refused) is the gateway's fault: a 502, naming neither key.
func TestErrorsUpstreamAuth(t *testing.T) {
	g := start(t)
	g.OpenAI.Set(testupstream.Reply{Status: 401, ErrorBody: `{"error":{"message":"Incorrect API key provided: ` + testgateway.OpenAIKey + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
	_, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: modelGPT,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	apiErr := asOpenAIError(t, err)
	assertEq(t, "status", apiErr.StatusCode, http.StatusBadGateway)
	for _, key := range []string{callerKey, testgateway.OpenAIKey} {
		if strings.Contains(apiErr.RawJSON(), key) {
			t.Errorf("error leaks a key: %s", apiErr.RawJSON())
		}
	}
}
