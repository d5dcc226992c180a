package sdk_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// The same-dialect path forwards the caller's body with only the model
// changed (and, for OpenAI streams, stream_options.include_usage set), and
// relays the upstream's bytes.

// withModel is body with its "model" value replaced, as the passthrough
// must do it: every other byte kept.
func withModel(t *testing.T, body []byte, from, to string) string {
	t.Helper()
	old := `"model":"` + from + `"`
	if bytes.Count(body, []byte(old)) != 1 {
		t.Fatalf("the SDK's body does not hold %s once: %s", old, body)
	}
	return strings.Replace(string(body), old, `"model":"`+to+`"`, 1)
}

func TestPassthroughOpenAIRequest(t *testing.T) {
	g := start(t)
	var capture bodyCapture
	client := oaiClient(g, capture.openai())
	params := openai.ChatCompletionNewParams{
		Model:       modelGPT,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("sys"), openai.UserMessage("Hi there")},
		Temperature: openai.Float(0.3),
		Seed:        openai.Int(7),
		Metadata:    map[string]string{"team": "blue"},
	}
	params.SetExtraFields(map[string]any{"x_vendor_flag": true})
	_, err := client.Chat.Completions.New(t.Context(), params,
		option.WithJSONSet("x_tidegate_probe", map[string]any{"nested": []any{1, "two", nil}, "emoji": "🌊"}))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	sent := capture.last(t)
	if !gjson.GetBytes(sent, "x_tidegate_probe.nested").Exists() || !gjson.GetBytes(sent, "x_vendor_flag").Exists() {
		t.Fatalf("the SDK did not send the extra fields: %s", sent)
	}
	rec := onlyRequest(t, g.OpenAI)
	assertEq(t, "path", rec.Path, "/v1/chat/completions")
	assertEq(t, "upstream body", string(rec.Body), withModel(t, sent, modelGPT, upGPT))
}

func TestPassthroughOpenAIStreamUsage(t *testing.T) {
	tests := []struct {
		name string
		opts openai.ChatCompletionStreamOptionsParam
		// wantUsage: the caller asked for the usage chunk.
		wantUsage bool
	}{
		{"no_stream_options", openai.ChatCompletionStreamOptionsParam{}, false},
		{"include_usage_false", openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(false)}, false},
		{"include_obfuscation_only", openai.ChatCompletionStreamOptionsParam{IncludeObfuscation: openai.Bool(false)}, false},
		{"include_usage_true", openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			g.OpenAI.Set(testupstream.Reply{Text: "one two three", Usage: testupstream.Usage{Input: 3, Output: 3}})
			var capture bodyCapture
			acc, chunks := oaiStream(t, oaiClient(g, capture.openai()), openai.ChatCompletionNewParams{
				Model:         modelGPT,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
				StreamOptions: tc.opts,
			}, option.WithJSONSet("x_tidegate_probe", "kept"))
			assertEq(t, "content", acc.Choices[0].Message.Content, "one two three")

			// Upstream: the caller's body, model changed, usage asked for.
			sent := capture.last(t)
			rec := onlyRequest(t, g.OpenAI)
			assertJSONPath(t, rec.Body, "stream_options.include_usage", "true")
			want, err := sjson.Set(withModel(t, sent, modelGPT, upGPT), "stream_options.include_usage", true)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEq(t, "upstream body", string(rec.Body), want)

			var usageChunks int
			for _, c := range chunks {
				if c.JSON.Usage.Valid() || len(c.Choices) == 0 {
					usageChunks++
				}
			}
			if tc.wantUsage {
				assertEq(t, "usage chunks", usageChunks, 1)
				assertEq(t, "prompt_tokens", acc.Usage.PromptTokens, 3)
			} else {
				assertEq(t, "usage chunks", usageChunks, 0)
			}
		})
	}
}

// TestPassthroughOpenAIStreamRaw reads the caller's SSE bytes: without
// include_usage no frame mentions usage at all.
func TestPassthroughOpenAIStreamRaw(t *testing.T) {
	g := start(t)
	g.OpenAI.Set(testupstream.Reply{Text: "one two three"})
	status, h, body := rawPost(t, g.URL+"/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"count"}]}`, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	assertEq(t, "content-type", h.Get("Content-Type"), "text/event-stream")
	if bytes.Contains(body, []byte(`"usage"`)) {
		t.Errorf("caller did not ask for usage, the stream carries it:\n%s", body)
	}
	if !bytes.HasSuffix(body, []byte("data: [DONE]\n\n")) {
		t.Errorf("stream does not end with data: [DONE]:\n%s", body)
	}
}

func TestPassthroughAnthropicRequest(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "non_stream", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			var capture bodyCapture
			client := antClient(g, capture.anthropic())
			params := anthropic.MessageNewParams{
				Model:     modelClaude,
				MaxTokens: 333,
				System:    []anthropic.TextBlockParam{{Text: "sys", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hi there"))},
				Metadata:  anthropic.MetadataParam{UserID: anthropic.String("user-7")},
			}
			params.SetExtraFields(map[string]any{"x_vendor_flag": true})
			probe := aoption.WithJSONSet("x_tidegate_probe", map[string]any{"nested": []any{1, "two", nil}, "emoji": "🌊"})
			if stream {
				antStream(t, client, params, probe)
			} else if _, err := client.Messages.New(t.Context(), params, probe); err != nil {
				t.Fatalf("messages: %v", err)
			}
			sent := capture.last(t)
			if !gjson.GetBytes(sent, "x_tidegate_probe.nested").Exists() || !gjson.GetBytes(sent, "x_vendor_flag").Exists() {
				t.Fatalf("the SDK did not send the extra fields: %s", sent)
			}
			rec := onlyRequest(t, g.Anthropic)
			assertEq(t, "path", rec.Path, "/v1/messages")
			assertEq(t, "upstream body", string(rec.Body), withModel(t, sent, modelClaude, upClaude))
		})
	}
}

// rawUpstream is a fake upstream with fixed bytes, for checking that the
// same-dialect path relays what it does not know.
type rawUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string]string // path + "|stream" or path → answer
}

func newRawUpstream(t *testing.T, answers map[string]string) *rawUpstream {
	u := &rawUpstream{bodies: answers}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.URL.Path
		if gjson.GetBytes(body, "stream").Bool() {
			key += "|stream"
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		u.mu.Lock()
		ans, ok := u.bodies[key]
		u.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		io.WriteString(w, ans)
	}))
	t.Cleanup(u.Close)
	return u
}

const (
	rawOpenAIChat = `{"id":"chatcmpl-raw","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"raw hello","x_message_extra":[1,2]},"finish_reason":"stop","logprobs":null,"x_choice_extra":"c"}],` +
		`"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"x_usage_extra":9},"x_upstream_extra":{"k":"v"}}`
	rawOpenAIStream = `data: {"id":"chatcmpl-raw","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"x_chunk_extra":1}` + "\n\n" +
		`data: {"id":"chatcmpl-raw","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"raw hello","x_delta_extra":true},"finish_reason":null}],"x_chunk_extra":2}` + "\n\n" +
		`data: {"id":"chatcmpl-raw","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_chunk_extra":3}` + "\n\n" +
		`data: {"id":"chatcmpl-raw","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}` + "\n\n" +
		"data: [DONE]\n\n"
	rawAnthropicMessage = `{"id":"msg_raw","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":[{"type":"text","text":"raw hello","x_block_extra":"b"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":3,"output_tokens":2,"x_usage_extra":9},"x_upstream_extra":{"k":"v"}}`
	rawAnthropicStream = "event: message_start\n" + `data: {"type":"message_start","message":{"id":"msg_raw","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1},"x_message_extra":1}}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"","x_block_extra":"b"}}` + "\n\n" +
		"event: x_vendor_event\n" + `data: {"type":"x_vendor_event","payload":{"k":"v"}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"raw hello"}}` + "\n\n" +
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
)

func startRawGateway(t *testing.T) *testgateway.Gateway {
	up := newRawUpstream(t, map[string]string{
		"/v1/chat/completions":        rawOpenAIChat,
		"/v1/chat/completions|stream": rawOpenAIStream,
		"/v1/messages":                rawAnthropicMessage,
		"/v1/messages|stream":         rawAnthropicStream,
	})
	return testgateway.Start(t, `
providers:
  oai: {type: openai, base_url: "`+up.URL+`/v1", api_key: "`+testgateway.OpenAIKey+`"}
  ant: {type: anthropic, base_url: "`+up.URL+`", api_key: "`+testgateway.AnthropicKey+`"}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
`)
}

// TestPassthroughResponseUnknownFields: fields the gateway does not know
// reach the caller, byte for byte, in both dialects, whole and streamed.
func TestPassthroughResponseUnknownFields(t *testing.T) {
	g := startRawGateway(t)
	tests := []struct {
		name, path, body, want string
	}{
		{"openai", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, rawOpenAIChat},
		// The caller asked for usage: the whole upstream stream.
		{"openai_stream_usage", "/v1/chat/completions", `{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, rawOpenAIStream},
		// The caller did not: the same without the usage chunk.
		{"openai_stream", "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`, dropUsageFrame(rawOpenAIStream)},
		{"anthropic", "/v1/messages", `{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, rawAnthropicMessage},
		{"anthropic_stream", "/v1/messages", `{"model":"claude","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, rawAnthropicStream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := rawPost(t, g.URL+tc.path, tc.body, map[string]string{"x-api-key": callerKey})
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if string(body) != tc.want {
				t.Errorf("the caller got\n%s\nwant the upstream's bytes\n%s", body, tc.want)
			}
		})
	}

	// Through the SDKs: the unknown fields are the SDKs' extra fields.
	t.Run("openai_sdk", func(t *testing.T) {
		c, err := oaiClient(g).Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: modelGPT, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		assertEq(t, "content", c.Choices[0].Message.Content, "raw hello")
		assertEq(t, "x_upstream_extra", c.JSON.ExtraFields["x_upstream_extra"].Raw(), `{"k":"v"}`)
		assertEq(t, "x_message_extra", c.Choices[0].Message.JSON.ExtraFields["x_message_extra"].Raw(), `[1,2]`)
		assertEq(t, "x_usage_extra", c.Usage.JSON.ExtraFields["x_usage_extra"].Raw(), `9`)
	})
	t.Run("anthropic_sdk", func(t *testing.T) {
		m, err := antClient(g).Messages.New(t.Context(), anthropic.MessageNewParams{
			Model: modelClaude, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		if err != nil {
			t.Fatalf("messages: %v", err)
		}
		assertEq(t, "text", m.Content[0].Text, "raw hello")
		assertEq(t, "x_upstream_extra", gjson.Get(m.RawJSON(), "x_upstream_extra").Raw, `{"k":"v"}`)
		assertEq(t, "x_block_extra", gjson.Get(m.RawJSON(), "content.0.x_block_extra").Raw, `"b"`)
		assertEq(t, "x_usage_extra", m.Usage.JSON.ExtraFields["x_usage_extra"].Raw(), `9`)
	})
}

// dropUsageFrame removes the usage-only chunk of an OpenAI SSE stream.
func dropUsageFrame(s string) string {
	var out []string
	for _, f := range strings.SplitAfter(s, "\n\n") {
		if !strings.Contains(f, `"usage"`) {
			out = append(out, f)
		}
	}
	return strings.Join(out, "")
}
