package binary_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestCloudProviders: the real binary serves Gemini (native translation)
// and Bedrock (SigV4 from the standard AWS variables, event-stream
// decoding) from both dialects, streamed and not.
func TestCloudProviders(t *testing.T) {
	bin.Need(t)
	google := testupstream.New("gemini")
	t.Cleanup(google.Close)
	google.Set(testupstream.Reply{Text: "Hi from the fake Gemini."})
	bedrock := testupstream.New("bedrock")
	t.Cleanup(bedrock.Close)
	bedrock.Set(testupstream.Reply{Text: "Hi from the fake Bedrock."})
	addr := testbinary.FreeAddr(t)
	cfg := writeFile(t, "cloud.yaml", `
listen: `+addr+`
providers:
  gem: {type: gemini, base_url: "`+google.URL+`/v1beta", api_key: "gemini-key-0123456789"}
  br:  {type: bedrock, base_url: "`+bedrock.URL+`", region: eu-central-1}
models:
  flash:  {provider: gem, model: gemini-2.5-flash}
  sonnet: {provider: br, model: eu.anthropic.claude-sonnet-4-5-20250929-v1:0}
`)
	env := testbinary.Env(t, "AWS_ACCESS_KEY_ID="+testupstream.BedrockAccessKeyID, "AWS_SECRET_ACCESS_KEY="+testupstream.BedrockSecretAccessKey)
	p := serve(t, env, addr, "--config", cfg)

	for model, want := range map[string]string{"flash": "Hi from the fake Gemini.", "sonnet": "Hi from the fake Bedrock."} {
		if got := openAIText(t, do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody(model, false))); got != want {
			t.Errorf("%s (OpenAI): %q", model, got)
		}
		if got := anthropicText(t, do(t, http.MethodPost, p.URL+"/v1/messages", messagesBody(model, false))); got != want {
			t.Errorf("%s (Anthropic): %q", model, got)
		}
		// Streams: the fakes send one word per event, which reach the
		// caller as separate deltas, and the stream ends properly.
		r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody(model, true))
		if b := string(r.Body); r.Status != 200 || !strings.Contains(b, `"content":" fake"`) || !strings.HasSuffix(strings.TrimSpace(b), "data: [DONE]") {
			t.Errorf("%s OpenAI stream: %s", model, r)
		}
		r = do(t, http.MethodPost, p.URL+"/v1/messages", messagesBody(model, true))
		if b := string(r.Body); r.Status != 200 || !strings.Contains(b, `"text":" fake"`) || !strings.Contains(b, "event: message_stop") {
			t.Errorf("%s Anthropic stream: %s", model, r)
		}
	}
	if last := bedrock.Last(); !strings.HasPrefix(last.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+testupstream.BedrockAccessKeyID+"/") ||
		!strings.Contains(last.Header.Get("Authorization"), "/eu-central-1/bedrock/aws4_request") {
		t.Errorf("bedrock auth %q", last.Header.Get("Authorization"))
	}
	if last := google.Last(); last.Header.Get("x-goog-api-key") != "gemini-key-0123456789" || last.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" {
		t.Errorf("gemini got %s with key %q", last.Path, last.Header.Get("x-goog-api-key"))
	}
	models := string(do(t, http.MethodGet, p.URL+"/v1/models", "").Body)
	if !strings.Contains(models, `"id":"flash","object":"model","created"`) || !strings.Contains(models, `"context_window":1048576`) {
		t.Errorf("/v1/models: %s", models)
	}
}
