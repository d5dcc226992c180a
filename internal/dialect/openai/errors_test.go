package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"io"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *llm.Error", err, err)
	}
	return e
}

func TestDecodeChatRequestErrors(t *testing.T) {
	cases := []struct {
		name, body, param, code string
	}{
		{"malformed", `{"model":"m","messages":[`, "", "invalid_json"},
		{"not an object", `["model"]`, "", "invalid_json"},
		{"empty body", ``, "", "invalid_json"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "model", "missing_required_parameter"},
		{"empty model", `{"model":"","messages":[{"role":"user","content":"hi"}]}`, "model", "missing_required_parameter"},
		{"model number", `{"model":4,"messages":[{"role":"user","content":"hi"}]}`, "model", "invalid_type"},
		{"missing messages", `{"model":"m"}`, "messages", "missing_required_parameter"},
		{"null messages", `{"model":"m","messages":null}`, "messages", "missing_required_parameter"},
		{"messages object", `{"model":"m","messages":{"role":"user"}}`, "messages", "invalid_type"},
		{"messages empty", `{"model":"m","messages":[]}`, "messages", "empty_array"},
		{"message not object", `{"model":"m","messages":["hi"]}`, "messages.[0]", "invalid_type"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages.[0].content", "invalid_type"},
		{"content object", `{"model":"m","messages":[{"role":"system","content":"a"},{"role":"user","content":{"text":"x"}}]}`, "messages.[1].content", "invalid_type"},
		{"missing content", `{"model":"m","messages":[{"role":"user"}]}`, "messages.[0].content", "missing_required_parameter"},
		{"missing role", `{"model":"m","messages":[{"content":"hi"}]}`, "messages.[0].role", "missing_required_parameter"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, "messages.[0].role", "invalid_value"},
		{"function role", `{"model":"m","messages":[{"role":"function","name":"f","content":"hi"}]}`, "messages.[0].role", "unsupported_value"},
		{"functions param", `{"model":"m","messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f"}]}`, "functions", "unsupported_value"},
		{"function_call param", `{"model":"m","messages":[{"role":"user","content":"hi"}],"function_call":"auto"}`, "function_call", "unsupported_value"},
		{"input_audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`, "messages.[0].content.[1].type", "unsupported_value"},
		{"file part", `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`, "messages.[0].content.[0].type", "unsupported_value"},
		{"part not object", `{"model":"m","messages":[{"role":"user","content":["hi"]}]}`, "messages.[0].content.[0]", "invalid_type"},
		{"part without type", `{"model":"m","messages":[{"role":"user","content":[{"text":"hi"}]}]}`, "messages.[0].content.[0].type", "missing_required_parameter"},
		{"text part number", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages.[0].content.[0].text", "invalid_type"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages.[0].content.[0].type", "unsupported_value"},
		{"image bad scheme", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages.[0].content.[0].image_url.url", "invalid_value"},
		{"image not base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages.[0].content.[0].image_url.url", "invalid_value"},
		{"image no url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages.[0].content.[0].image_url.url", "missing_required_parameter"},
		{"tool without call id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]}`, "messages.[1].tool_call_id", "missing_required_parameter"},
		{"tool image part", `{"model":"m","messages":[{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages.[0].content.[0].type", "unsupported_value"},
		{"tool_calls object", `{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}`, "messages.[0].tool_calls", "invalid_type"},
		{"tool call no id", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages.[0].tool_calls.[0].id", "missing_required_parameter"},
		{"tool call no name", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]}`, "messages.[0].tool_calls.[0].function.name", "missing_required_parameter"},
		{"tool call custom", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f","input":"x"}}]}]}`, "messages.[0].tool_calls.[0].type", "unsupported_value"},
		{"assistant function_call", `{"model":"m","messages":[{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}]}`, "messages.[0].function_call", "unsupported_value"},
		{"temperature string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, "temperature", "invalid_type"},
		{"max_tokens string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":"10"}`, "max_tokens", "invalid_type"},
		{"max_tokens float", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":10.5}`, "max_tokens", "invalid_type"},
		{"max_completion negative", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-1}`, "max_completion_tokens", "invalid_value"},
		{"n zero", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":0}`, "n", "invalid_value"},
		{"stop number", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":5}`, "stop", "invalid_type"},
		{"stop array number", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a",5]}`, "stop.[1]", "invalid_type"},
		{"stream string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`, "stream", "invalid_type"},
		{"stream_options string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":"x"}`, "stream_options", "invalid_type"},
		{"include_usage string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":"yes"}}`, "stream_options.include_usage", "invalid_type"},
		{"tools object", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":{}}`, "tools", "invalid_type"},
		{"tool no function", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}`, "tools.[0].function", "missing_required_parameter"},
		{"tool no name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"parameters":{}}}]}`, "tools.[0].function.name", "missing_required_parameter"},
		{"tool params array", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools.[0].function.parameters", "invalid_type"},
		{"tool custom type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"name":"f"}}]}`, "tools.[0].type", "unsupported_value"},
		{"tool_choice bad", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"any"}`, "tool_choice", "invalid_value"},
		{"tool_choice number", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":1}`, "tool_choice", "invalid_type"},
		{"tool_choice no name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"function","function":{}}}`, "tool_choice.function.name", "missing_required_parameter"},
		{"parallel string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":"no"}`, "parallel_tool_calls", "invalid_type"},
		{"reasoning_effort number", `{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":1}`, "reasoning_effort", "invalid_type"},
		{"response_format type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}`, "response_format.type", "invalid_value"},
		{"response_format no schema", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "missing_required_parameter"},
		{"response_format string", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":"json"}`, "response_format", "invalid_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeChatRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error, got %+v", req)
			}
			e := asLLMError(t, err)
			if e.Kind != llm.KindInvalidRequest || e.HTTPStatus() != 400 {
				t.Errorf("kind %v status %d", e.Kind, e.HTTPStatus())
			}
			if e.Param != tc.param || e.Code != tc.code {
				t.Errorf("param %q code %q, want %q %q (%s)", e.Param, e.Code, tc.param, tc.code, e.Message)
			}
			if e.Message == "" || strings.Contains(e.Message, oaierr.Mark) {
				t.Errorf("bad message %q", e.Message)
			}
			switch e.Code {
			case "invalid_type", "missing_required_parameter", "invalid_value":
				if !strings.Contains(e.Message, "'"+e.Param+"'") {
					t.Errorf("message %q does not name %q", e.Message, e.Param)
				}
			}
			// The lazy path gives the same error, at envelope or decode time.
			lazy, lerr := NewLazyChatRequest([]byte(tc.body))
			if lerr == nil {
				lerr = lazy.Decode()
			}
			if le := asLLMError(t, lerr); le.Param != e.Param || le.Code != e.Code {
				t.Errorf("lazy error %q/%q, want %q/%q", le.Param, le.Code, e.Param, e.Code)
			}
		})
	}
}

func TestDecodeCompletionRequestErrors(t *testing.T) {
	cases := []struct{ name, body, param string }{
		{"multi prompt", `{"model":"m","prompt":["a","b"]}`, "prompt"},
		{"token prompt", `{"model":"m","prompt":[1,2,3]}`, "prompt"},
		{"token prompts", `{"model":"m","prompt":[[1,2],[3]]}`, "prompt"},
		{"empty prompt array", `{"model":"m","prompt":[]}`, "prompt"},
		{"prompt number", `{"model":"m","prompt":5}`, "prompt"},
		{"missing prompt", `{"model":"m"}`, "prompt"},
		{"missing model", `{"prompt":"x"}`, "model"},
		{"bad max_tokens", `{"model":"m","prompt":"x","max_tokens":true}`, "max_tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCompletionRequest([]byte(tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if e := asLLMError(t, err); e.Kind != llm.KindInvalidRequest || e.Param != tc.param {
				t.Errorf("kind %v param %q, want %q (%s)", e.Kind, e.Param, tc.param, e.Message)
			}
		})
	}
	// The lazy path only needs the envelope: passthrough can serve a
	// multi-prompt request.
	lazy, err := NewLazyCompletionRequest([]byte(`{"model":"m","prompt":["a","b"],"stream":true}`))
	if err != nil || lazy.Model != "m" || !lazy.Stream || lazy.Op != llm.OpCompletion {
		t.Fatalf("lazy: %+v %v", lazy, err)
	}
	if err := lazy.Decode(); err == nil {
		t.Fatal("lazy Decode of a multi-prompt request succeeded")
	}
}

func TestDecodeEmbedRequestErrors(t *testing.T) {
	cases := []struct{ name, body, param string }{
		{"missing input", `{"model":"m"}`, "input"},
		{"missing model", `{"input":"x"}`, "model"},
		{"input number", `{"model":"m","input":5}`, "input"},
		{"input mixed", `{"model":"m","input":["a",1]}`, "input.[1]"},
		{"input empty", `{"model":"m","input":[]}`, "input"},
		{"input nested strings", `{"model":"m","input":[["a"]]}`, "input.[0]"},
		{"format", `{"model":"m","input":"x","encoding_format":"int8"}`, "encoding_format"},
		{"dimensions", `{"model":"m","input":"x","dimensions":0}`, "dimensions"},
		{"malformed", `{"model":"m",`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEmbedRequest([]byte(tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if e := asLLMError(t, err); e.Kind != llm.KindInvalidRequest || e.Param != tc.param {
				t.Errorf("kind %v param %q, want %q (%s)", e.Kind, e.Param, tc.param, e.Message)
			}
		})
	}
	// Token input without an OpenAI source cannot be encoded.
	if _, err := EncodeEmbedRequest(&llm.EmbedRequest{Model: "m"}); err == nil {
		t.Fatal("EncodeEmbedRequest without input succeeded")
	}
}

func TestEncodeError(t *testing.T) {
	cases := []struct {
		err  *llm.Error
		want string
	}{
		{&llm.Error{Kind: llm.KindInvalidRequest, Message: "Missing required parameter: 'model'.", Param: "model", Code: "missing_required_parameter"},
			`{"error":{"message":"Missing required parameter: 'model'.","type":"invalid_request_error","param":"model","code":"missing_required_parameter"}}`},
		{&llm.Error{Kind: llm.KindAuthentication, Message: "bad key"},
			`{"error":{"message":"bad key","type":"authentication_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindPermission, Message: "no"}, `{"error":{"message":"no","type":"permission_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindNotFound, Message: "The model 'x' does not exist", Code: "model_not_found"},
			`{"error":{"message":"The model 'x' does not exist","type":"not_found_error","param":null,"code":"model_not_found"}}`},
		{&llm.Error{Kind: llm.KindTooLarge, Message: "too big"}, `{"error":{"message":"too big","type":"invalid_request_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindRateLimit, Message: "slow down"}, `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{&llm.Error{Kind: llm.KindBudget, Message: "budget exhausted"}, `{"error":{"message":"budget exhausted","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
		{&llm.Error{Kind: llm.KindUpstream, Message: "bad gateway"}, `{"error":{"message":"bad gateway","type":"server_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindInternal}, `{"error":{"message":"Internal Server Error","type":"server_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindOverloaded, Message: "busy"}, `{"error":{"message":"busy","type":"service_unavailable_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindTimeout, Message: "\"slow\"\n"}, `{"error":{"message":"\"slow\"\n","type":"timeout_error","param":null,"code":null}}`},
		{&llm.Error{Kind: llm.KindUpstream, Body: []byte(`{"error":{"message":"raw"}}`), BodyDialect: llm.DialectOpenAI}, `{"error":{"message":"raw"}}`},
		{&llm.Error{Kind: llm.KindUpstream, Message: "m", Body: []byte(`{"type":"error"}`), BodyDialect: llm.DialectAnthropic},
			`{"error":{"message":"m","type":"server_error","param":null,"code":null}}`},
	}
	for _, tc := range cases {
		if got := string(EncodeError(tc.err)); got != tc.want {
			t.Errorf("EncodeError(%v)\n got %s\nwant %s", tc.err, got, tc.want)
		}
	}
}

func TestDecodeError(t *testing.T) {
	openaiBody := []byte(`{
    "error": {
        "message": "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
        "type": "tokens",
        "param": null,
        "code": "rate_limit_exceeded"
    }
}`)
	e := DecodeError(429, openaiBody)
	if e.Kind != llm.KindRateLimit || e.Status != 429 || e.Code != "rate_limit_exceeded" || e.UpstreamType != "tokens" ||
		!strings.HasPrefix(e.Message, "Rate limit reached") || e.BodyDialect != llm.DialectOpenAI || !bytes.Equal(e.Body, openaiBody) {
		t.Errorf("openai 429: %+v", e)
	}
	if !bytes.Equal(EncodeError(e), openaiBody) {
		t.Error("same-dialect error body not relayed")
	}

	e = DecodeError(400, []byte(`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`))
	if e.Kind != llm.KindInvalidRequest || e.Param != "messages" || e.Code != "context_length_exceeded" {
		t.Errorf("400: %+v", e)
	}

	// vLLM / compat shape
	e = DecodeError(404, []byte(`{"object":"error","message":"The model 'x' does not exist.","type":"NotFoundError","param":null,"code":404}`))
	if e.Kind != llm.KindNotFound || e.Message != "The model 'x' does not exist." || e.UpstreamType != "NotFoundError" || e.Body != nil {
		t.Errorf("vllm: %+v", e)
	}

	// a string error
	e = DecodeError(500, []byte(`{"error":"boom"}`))
	if e.Kind != llm.KindUpstream || e.Message != "boom" || e.Body != nil {
		t.Errorf("string error: %+v", e)
	}

	// not JSON at all (a proxy's HTML page)
	e = DecodeError(503, []byte(`<html>Service Unavailable</html>`))
	if e.Kind != llm.KindOverloaded || e.Status != 503 || e.Message != "upstream returned HTTP 503 Service Unavailable" || e.Body != nil {
		t.Errorf("html: %+v", e)
	}
	e = DecodeError(401, nil)
	if e.Kind != llm.KindAuthentication || e.Message == "" {
		t.Errorf("empty: %+v", e)
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	_, err := DecodeResponse([]byte(`{"id":`))
	if e := asLLMError(t, err); e.Kind != llm.KindUpstream || e.HTTPStatus() != 502 {
		t.Errorf("invalid JSON: %+v", e)
	}
	_, err = DecodeResponse([]byte(`{"error":{"message":"overloaded","type":"overloaded_error"}}`))
	if e := asLLMError(t, err); e.Kind != llm.KindOverloaded || e.Message != "overloaded" {
		t.Errorf("error body: %+v", e)
	}
	_, err = DecodeEmbedResponse([]byte(`nope`))
	if e := asLLMError(t, err); e.Kind != llm.KindUpstream {
		t.Errorf("embed invalid JSON: %+v", e)
	}
	_, err = DecodeEmbedResponse([]byte(`{"data":[{"embedding":"***"}]}`))
	if e := asLLMError(t, err); e.Kind != llm.KindUpstream {
		t.Errorf("embed bad base64: %+v", e)
	}
}

func decodeSSE(t *testing.T, s string, raw bool) ([]llm.Event, error) {
	t.Helper()
	return drain(t, NewStreamDecoder(io.NopCloser(strings.NewReader(s)), raw))
}

func TestStreamDecoderEdges(t *testing.T) {
	t.Run("done without finish flushes tools", func(t *testing.T) {
		evs, err := decodeSSE(t, `data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\":"}}]}}]}

data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}

data: [DONE]

`, false)
		if err != io.EOF {
			t.Fatal(err)
		}
		if len(evs) != 5 || evs[1].Part.ToolCall.ID != "c1" || evs[2].Text != `{"a":1}` || evs[4].Type != llm.EventFinish || evs[4].StopReason != llm.StopToolUse {
			t.Fatalf("%+v", evs)
		}
	})
	t.Run("tool calls without index, stop reason stop", func(t *testing.T) {
		evs, err := decodeSSE(t, `data: {"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":""}},{"id":"b","function":{"name":"g","arguments":"{\"x\":1}"}}]}}]}

data: {"choices":[{"delta":{},"finish_reason":"stop"}]}

data: [DONE]

`, false)
		if err != io.EOF {
			t.Fatal(err)
		}
		var names, args []string
		for _, ev := range evs {
			if ev.Type == llm.EventBlockStart {
				names = append(names, ev.Part.ToolCall.ID+":"+ev.Part.ToolCall.Name)
			}
			if ev.Type == llm.EventDelta {
				args = append(args, ev.Text)
			}
		}
		if strings.Join(names, ",") != "a:f,b:g" || strings.Join(args, ",") != `{},{"x":1}` || evs[len(evs)-1].StopReason != llm.StopToolUse {
			t.Fatalf("%v %v %+v", names, args, evs[len(evs)-1])
		}
	})
	t.Run("tool without id gets one", func(t *testing.T) {
		evs, err := decodeSSE(t, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n", false)
		if err != io.EOF || !strings.HasPrefix(evs[1].Part.ToolCall.ID, "call_") || evs[2].Text != "{}" {
			t.Fatalf("%+v %v", evs, err)
		}
	})
	t.Run("error event name", func(t *testing.T) {
		_, err := decodeSSE(t, "event: error\ndata: {\"message\":\"quota\",\"type\":\"insufficient_quota\"}\n\n", false)
		if e := asLLMError(t, err); e.Kind != llm.KindRateLimit || e.Message != "quota" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("vllm error with numeric code", func(t *testing.T) {
		_, err := decodeSSE(t, "data: {\"error\":{\"object\":\"error\",\"message\":\"too long\",\"type\":\"BadRequestError\",\"code\":400}}\n\n", false)
		if e := asLLMError(t, err); e.Kind != llm.KindInvalidRequest || e.Message != "too long" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("invalid chunk", func(t *testing.T) {
		_, err := decodeSSE(t, "data: {\"choices\":[\n\n", false)
		if e := asLLMError(t, err); e.Kind != llm.KindUpstream {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("cut mid-frame", func(t *testing.T) {
		_, err := decodeSSE(t, "data: {\"choices\":[]}", false)
		if e := asLLMError(t, err); e.Kind != llm.KindUpstream || e.Message != "upstream stream ended before completion" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("empty body", func(t *testing.T) {
		_, err := decodeSSE(t, "", false)
		if e := asLLMError(t, err); e.Kind != llm.KindUpstream {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("errors and EOF are sticky", func(t *testing.T) {
		s := NewStreamDecoder(io.NopCloser(strings.NewReader("data: [DONE]\n\n")), false)
		for i := 0; i < 3; i++ {
			if _, err := s.Next(); err != io.EOF {
				t.Fatal(err)
			}
		}
	})
	t.Run("groq usage and running usage", func(t *testing.T) {
		evs, err := decodeSSE(t, `data: {"id":"g","model":"llama","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}

data: {"id":"g","model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}}

data: [DONE]

`, false)
		if err != io.EOF {
			t.Fatal(err)
		}
		fin := evs[len(evs)-1]
		if fin.Type != llm.EventFinish || fin.Usage == nil || fin.Usage.OutputTokens != 2 {
			t.Fatalf("%+v", fin)
		}
	})
	t.Run("raw frames without events", func(t *testing.T) {
		in := "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
			"data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n" +
			"event: ping\n\n" +
			"data: [DONE]\n\n"
		evs, err := decodeSSE(t, in, true)
		if err != io.EOF {
			t.Fatal(err)
		}
		// start (with raw), raw-only, raw-only (ping), synthesised finish
		if len(evs) != 4 || evs[0].Type != llm.EventStart || len(evs[0].Raw) == 0 ||
			evs[1].Type != 0 || len(evs[1].Raw) == 0 || evs[2].Type != 0 || string(evs[2].Raw) != "event: ping\n\n" ||
			evs[3].Type != llm.EventFinish || evs[3].Raw != nil || evs[3].RawDialect != llm.DialectOpenAI {
			t.Fatalf("%+v", evs)
		}
	})
	t.Run("second choice ignored", func(t *testing.T) {
		evs, err := decodeSSE(t, `data: {"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}

data: {"choices":[{"index":1,"delta":{},"finish_reason":"length"}]}

data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]

`, false)
		if err != io.EOF {
			t.Fatal(err)
		}
		var text string
		for _, ev := range evs {
			if ev.Type == llm.EventDelta {
				text += ev.Text
			}
		}
		if text != "A" || evs[len(evs)-1].StopReason != llm.StopEndTurn {
			t.Fatalf("%q %+v", text, evs)
		}
	})
}

func TestStreamEncoderEdges(t *testing.T) {
	t.Run("finish synthesised", func(t *testing.T) {
		enc := newTestEncoder(llm.OpChat, false)
		out := enc.Encode(nil, llm.Event{Type: llm.EventDelta, Text: "hi"})
		out = enc.Finish(out)
		checkFrames(t, out)
		s := string(out)
		if !strings.Contains(s, `"delta":{"role":"assistant","content":""}`) || !strings.Contains(s, `"delta":{"content":"hi"}`) ||
			!strings.Contains(s, `"finish_reason":"stop"`) || !strings.Contains(s, `"id":"chatcmpl-`) {
			t.Fatal(s)
		}
	})
	t.Run("usage only when asked", func(t *testing.T) {
		for _, include := range []bool{false, true} {
			enc := newTestEncoder(llm.OpChat, include)
			out := enc.Encode(nil, llm.Event{Type: llm.EventStart, ID: "a", Model: "m"})
			out = enc.Encode(out, llm.Event{Type: llm.EventFinish, StopReason: llm.StopMaxTokens})
			out = enc.Encode(out, llm.Event{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 5, OutputTokens: 7}})
			out = enc.Finish(out)
			checkFrames(t, out)
			if got := strings.Contains(string(out), `"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12`); got != include {
				t.Fatalf("include=%v:\n%s", include, out)
			}
			if strings.Count(string(out), `"finish_reason":"length"`) != 1 {
				t.Fatal(string(out))
			}
		}
	})
	t.Run("passthrough finish writes only DONE", func(t *testing.T) {
		enc := newTestEncoder(llm.OpChat, false)
		raw := []byte("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
		out := enc.Encode(nil, llm.Event{Type: llm.EventStart, Raw: raw, RawDialect: llm.DialectOpenAI})
		out = enc.Encode(out, llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartText}, RawDialect: llm.DialectOpenAI})
		out = enc.Encode(out, llm.Event{Type: llm.EventFinish, RawDialect: llm.DialectOpenAI})
		out = enc.Finish(out)
		if string(out) != string(raw)+"data: [DONE]\n\n" {
			t.Fatalf("%q", out)
		}
	})
	t.Run("other dialect raw ignored", func(t *testing.T) {
		enc := newTestEncoder(llm.OpChat, false)
		out := enc.Encode(nil, llm.Event{Type: llm.EventStart, ID: "a", Raw: []byte("event: message_start\n\n"), RawDialect: llm.DialectAnthropic})
		if strings.Contains(string(out), "message_start") || !strings.Contains(string(out), `"id":"a"`) {
			t.Fatal(string(out))
		}
	})
	t.Run("error frame", func(t *testing.T) {
		enc := newTestEncoder(llm.OpChat, false)
		out := enc.Error(nil, &llm.Error{Kind: llm.KindOverloaded, Message: "Overloaded", Code: "x"})
		if string(out) != `data: {"error":{"message":"Overloaded","type":"service_unavailable_error","code":"x"}}`+"\n\n" {
			t.Fatal(string(out))
		}
		var v map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(bytes.TrimPrefix(out, []byte("data: "))), &v); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("completion ignores tools and thinking", func(t *testing.T) {
		enc := newTestEncoder(llm.OpCompletion, false)
		out := enc.Encode(nil, llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartThinking}})
		out = enc.Encode(out, llm.Event{Type: llm.EventDelta, Text: "hmm"})
		out = enc.Encode(out, llm.Event{Type: llm.EventBlockStart, Index: 1, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f"}}})
		out = enc.Encode(out, llm.Event{Type: llm.EventDelta, Index: 1, Text: "{}"})
		out = enc.Finish(out)
		checkFrames(t, out)
		if strings.Contains(string(out), "hmm") || strings.Contains(string(out), "tool") || !strings.Contains(string(out), `"object":"text_completion"`) {
			t.Fatal(string(out))
		}
	})
}

func TestEncodeRequestEdges(t *testing.T) {
	t.Run("invalid tool schema", func(t *testing.T) {
		_, err := EncodeChatRequest(&llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("x")}}},
			Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`[1,2`)}}}, llm.ModelInfo{})
		if e := asLLMError(t, err); e.Kind != llm.KindInvalidRequest || e.Param != "tools.[0].parameters" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("tool choice without tools is dropped", func(t *testing.T) {
		b, err := EncodeChatRequest(&llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser}},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone, DisableParallel: true}}, llm.ModelInfo{})
		if err != nil || string(b) != `{"model":"m","messages":[{"role":"user","content":""}]}` {
			t.Fatalf("%s %v", b, err)
		}
	})
	t.Run("hostile strings stay valid JSON", func(t *testing.T) {
		s := "a\"b\\c\x00\x1f\u2028\xff<>&"
		b, err := EncodeChatRequest(&llm.Request{Model: s, User: s, Stop: []string{s},
			Messages: []llm.Message{{Role: llm.RoleUser, Name: s, Content: []llm.Part{llm.TextPart(s), {Type: llm.PartImage, Image: &llm.Image{MediaType: s, Data: s}}}}}}, llm.ModelInfo{})
		if err != nil || !json.Valid(b) {
			t.Fatalf("%s %v", b, err)
		}
		var v struct{ Model string }
		_ = json.Unmarshal(b, &v)
		if v.Model != "a\"b\\c\x00\x1f\u2028\ufffd<>&" {
			t.Fatalf("%q", v.Model)
		}
	})
	t.Run("lazy request is decoded first", func(t *testing.T) {
		req, err := NewLazyChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Model = "upstream-m"
		b, err := EncodeChatRequest(req, llm.ModelInfo{})
		if err != nil || string(b) != `{"model":"upstream-m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}` {
			t.Fatalf("%s %v", b, err)
		}
	})
	t.Run("effort none is sent", func(t *testing.T) {
		req, _ := DecodeChatRequest([]byte(`{"model":"gpt-5.1","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none","temperature":0.3}`))
		if req.Reasoning == nil || req.Reasoning.Enabled || req.Reasoning.Effort != "none" {
			t.Fatalf("%+v", req.Reasoning)
		}
		b, _ := EncodeChatRequest(req, llm.ModelInfo{Reasoning: true})
		if string(b) != `{"model":"gpt-5.1","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"}` {
			t.Fatal(string(b))
		}
	})
	t.Run("models", func(t *testing.T) {
		if got := string(EncodeModelList([]string{"a", "b"}, 1700000000, "tidegate")); got !=
			`{"object":"list","data":[{"id":"a","object":"model","created":1700000000,"owned_by":"tidegate"},{"id":"b","object":"model","created":1700000000,"owned_by":"tidegate"}]}` {
			t.Fatal(got)
		}
		if got := string(EncodeModelList(nil, 1, "x")); got != `{"object":"list","data":[]}` {
			t.Fatal(got)
		}
		if got := string(EncodeModel("gpt-4o", 1, "openai")); got != `{"id":"gpt-4o","object":"model","created":1,"owned_by":"openai"}` {
			t.Fatal(got)
		}
	})
	t.Run("response defaults", func(t *testing.T) {
		b := EncodeResponse(&llm.Response{Model: "m", Content: []llm.Part{llm.TextPart("hi")}})
		var v struct {
			ID      string
			Created int64
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal(b, &v); err != nil || !strings.HasPrefix(v.ID, "chatcmpl-") || len(v.ID) != 33 || v.Created == 0 || v.Choices[0].FinishReason != "stop" {
			t.Fatalf("%s %v", b, err)
		}
	})
}

// The per-event hot path appends into the caller's buffer without
// allocating.
func TestStreamAllocs(t *testing.T) {
	enc := newTestEncoder(llm.OpChat, true)
	buf := enc.Encode(make([]byte, 0, 4096), llm.Event{Type: llm.EventStart, ID: "x", Model: "m"})
	buf = enc.Encode(buf, llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartText}})
	ev := llm.Event{Type: llm.EventDelta, Text: "some \"quoted\" text\n"}
	if n := testing.AllocsPerRun(100, func() { buf = enc.Encode(buf[:0], ev) }); n != 0 {
		t.Errorf("text delta: %v allocs", n)
	}
	raw := llm.Event{Type: llm.EventDelta, Raw: []byte("data: {}\n\n"), RawDialect: llm.DialectOpenAI}
	if n := testing.AllocsPerRun(100, func() { buf = enc.Encode(buf[:0], raw) }); n != 0 {
		t.Errorf("raw passthrough: %v allocs", n)
	}
}
