package sdk_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// checkUpstreamAuth checks the credentials an upstream received: the
// provider key configured in the gateway, never the caller's.
func checkUpstreamAuth(t *testing.T, model string, h http.Header) {
	t.Helper()
	assertNoCallerKey(t, h)
	switch model {
	case modelGPT:
		assertEq(t, "Authorization", h.Get("Authorization"), "Bearer "+testgateway.OpenAIKey)
		assertEq(t, "x-api-key", h.Get("x-api-key"), "")
	case modelClaude:
		assertEq(t, "x-api-key", h.Get("x-api-key"), testgateway.AnthropicKey)
		assertEq(t, "anthropic-version", h.Get("anthropic-version"), "2023-06-01")
		assertEq(t, "Authorization", h.Get("Authorization"), "")
	case modelLlama: // no key configured for Ollama: no credentials at all
		assertEq(t, "Authorization", h.Get("Authorization"), "")
		assertEq(t, "x-api-key", h.Get("x-api-key"), "")
	}
}

func TestHeadersOpenAISDK(t *testing.T) {
	for _, rt := range upstreamRoutes {
		for _, stream := range []bool{false, true} {
			t.Run(rt.model+map[bool]string{false: "/non_stream", true: "/stream"}[stream], func(t *testing.T) {
				t.Parallel()
				g := start(t)
				client := oaiClient(g,
					option.WithHeader("anthropic-beta", "prompt-caching-2024-07-31"),
					option.WithHeader("x-api-key", callerKey),
					option.WithHeader("api-key", callerKey))
				params := openai.ChatCompletionNewParams{
					Model:    rt.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				}
				var httpResp *http.Response
				if stream {
					oaiStream(t, client, params, option.WithResponseInto(&httpResp))
				} else if _, err := client.Chat.Completions.New(t.Context(), params, option.WithResponseInto(&httpResp)); err != nil {
					t.Fatalf("chat: %v", err)
				}
				assertGatewayHeaders(t, httpResp.Header, rt.provider, rt.upModel)
				rec := onlyRequest(t, rt.fake(g))
				checkUpstreamAuth(t, rt.model, rec.Header)
				if rt.model == modelClaude {
					// The caller's anthropic-beta flags reach Anthropic,
					// whatever the caller's dialect.
					assertEq(t, "anthropic-beta", rec.Header.Get("anthropic-beta"), "prompt-caching-2024-07-31")
				}
			})
		}
	}
}

func TestHeadersAnthropicSDK(t *testing.T) {
	const betas = "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14"
	for _, rt := range upstreamRoutes {
		for _, stream := range []bool{false, true} {
			t.Run(rt.model+map[bool]string{false: "/non_stream", true: "/stream"}[stream], func(t *testing.T) {
				t.Parallel()
				g := start(t)
				client := antClient(g,
					aoption.WithHeader("anthropic-beta", betas),
					// The version is pinned by the gateway, whatever the caller says.
					aoption.WithHeader("anthropic-version", "2099-12-31"),
					aoption.WithHeader("Authorization", "Bearer "+callerKey))
				params := anthropic.MessageNewParams{
					Model:     anthropic.Model(rt.model),
					MaxTokens: 50,
					Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				}
				var httpResp *http.Response
				if stream {
					antStream(t, client, params, aoption.WithResponseInto(&httpResp))
				} else if _, err := client.Messages.New(t.Context(), params, aoption.WithResponseInto(&httpResp)); err != nil {
					t.Fatalf("messages: %v", err)
				}
				assertGatewayHeaders(t, httpResp.Header, rt.provider, rt.upModel)
				rec := onlyRequest(t, rt.fake(g))
				checkUpstreamAuth(t, rt.model, rec.Header)
				if rt.model == modelClaude {
					assertEq(t, "anthropic-beta", rec.Header.Get("anthropic-beta"), betas)
				} else {
					assertEq(t, "anthropic-beta to "+rt.model, rec.Header.Get("anthropic-beta"), "")
				}
			})
		}
	}
}

// TestHeadersEcho: the built-in model answers with the same headers.
func TestHeadersEcho(t *testing.T) {
	g := start(t)
	var httpResp *http.Response
	if _, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: modelEcho, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}, option.WithResponseInto(&httpResp)); err != nil {
		t.Fatalf("chat: %v", err)
	}
	assertGatewayHeaders(t, httpResp.Header, "echo", "echo")
}

// TestContentLength: a non-stream answer carries its Content-Length
// whether it is small (net/http sets it) or large (the gateway does).
func TestContentLength(t *testing.T) {
	g := start(t)
	for _, words := range []int{2, 2000} {
		body := `{"model":"` + modelEcho + `","messages":[{"role":"user","content":"` + strings.TrimSpace(strings.Repeat("word ", words)) + `"}]}`
		resp, err := http.Post(g.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d words: %d %v", words, resp.StatusCode, err)
		}
		if resp.ContentLength != int64(len(b)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("%d words (%d bytes): Content-Length %d, Transfer-Encoding %v", words, len(b), resp.ContentLength, resp.TransferEncoding)
		}
	}
}

// TestHeadersRequestIDEverywhere: every answer carries x-request-id, and
// each request gets its own.
func TestHeadersRequestIDEverywhere(t *testing.T) {
	g := start(t)
	g.Anthropic.Set(testupstream.Reply{TokenCount: 5})
	oc, ac := oaiClient(g), antClient(g)
	seen := map[string]string{}
	check := func(what string, resp *http.Response) {
		t.Helper()
		if resp == nil {
			t.Errorf("%s: no response", what)
			return
		}
		id := resp.Header.Get("x-request-id")
		if !requestIDRe.MatchString(id) {
			t.Errorf("%s: x-request-id = %q", what, id)
			return
		}
		if prev, ok := seen[id]; ok {
			t.Errorf("%s reuses the x-request-id of %s: %s", what, prev, id)
		}
		seen[id] = what
	}
	var r *http.Response
	_, _ = oc.Models.List(t.Context(), option.WithResponseInto(&r))
	check("models list", r)
	r = nil
	_, _ = oc.Models.Get(t.Context(), modelGPT, option.WithResponseInto(&r))
	check("models get", r)
	r = nil
	_, _ = oc.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: modelGPT, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}}, option.WithResponseInto(&r))
	check("embeddings", r)
	r = nil
	_, _ = ac.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{Model: modelClaude,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}}, aoption.WithResponseInto(&r))
	check("count_tokens", r)
	_, err := oc.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "no-such-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	check("error", asOpenAIError(t, err).Response)
}

// TestHeadersAnthropicBetaAPI: the SDK's Beta API (POST
// /v1/messages?beta=true with the Betas as anthropic-beta) works through
// the gateway; the flags reach an Anthropic upstream.
func TestHeadersAnthropicBetaAPI(t *testing.T) {
	for _, rt := range []route{routeClaude, routeGPT} {
		t.Run(rt.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			rt.fake(g).Set(testupstream.Reply{Text: "beta answer"})
			m, err := antClient(g).Beta.Messages.New(t.Context(), anthropic.BetaMessageNewParams{
				Model:     anthropic.Model(rt.model),
				MaxTokens: 50,
				Betas:     []anthropic.AnthropicBeta{"context-management-2025-06-27", "files-api-2025-04-14"},
				Messages:  []anthropic.BetaMessageParam{anthropic.NewBetaUserMessage(anthropic.NewBetaTextBlock("hi"))},
			})
			if err != nil {
				t.Fatalf("beta messages: %v", err)
			}
			if len(m.Content) != 1 || m.Content[0].Text != "beta answer" {
				t.Errorf("content: %s", m.RawJSON())
			}
			rec := onlyRequest(t, rt.fake(g))
			checkUpstreamAuth(t, rt.model, rec.Header)
			if rt.model == modelClaude {
				assertEq(t, "path", rec.Path, "/v1/messages")
				assertEq(t, "anthropic-beta", rec.Header.Get("anthropic-beta"), "context-management-2025-06-27,files-api-2025-04-14")
			}
		})
	}
}
